// Rich-message changes (docs/RICH-MESSAGES.md) as frames for the sockets that declared the
// rich_messages feature in AUTH; every other socket (the iOS SDK's) never gets them.
import { Cmd, encodeFrame, encodeRawFrame, pb, type MessageInfo } from "../../protocol/codec";
import { pushMessageBody } from "../../protocol/push-frames";
import { toMessageInfo, type StoredMessage } from "../message";
import { decodeRich } from "../rich-fields";
import type { MessageUpdate, PinsUpdate } from "../rpc";
import { sendFrame, socketState, type SocketState } from "./socket-state";

/** The feature a client names in AuthRequest.features to get rich messages. */
export const RICH_MESSAGES = "rich_messages";

/** The protocol extensions this server serves; any other name a client declares is ignored. */
const KNOWN_FEATURES: ReadonlySet<string> = new Set([RICH_MESSAGES]);

/**
 * The known features among those a client declared, each once, in the order known: the attachment
 * holds nothing a client chose (a long list of made-up names would otherwise be stored per socket).
 */
export function servedFeatures(declared: readonly string[] | null | undefined): string[] {
  if (!declared || declared.length === 0) return [];
  return [...KNOWN_FEATURES].filter((feature) => declared.includes(feature));
}

export function declaresRich(state: SocketState): boolean {
  return state.features?.includes(RICH_MESSAGES) ?? false;
}

/** MessageUpdatedPush { message }, laid out as PushMessage: field 1 holding info ++ ext. */
export function messageUpdatedFrame(update: MessageUpdate): Uint8Array {
  return encodeRawFrame(Cmd.CMD_MESSAGE_UPDATED_PUSH, 0, pushMessageBody(withExt(update.info, update.ext)));
}

/** A MessageInfo's bytes followed by its rich fields: protobuf fields concatenate into one message. */
export function withExt(info: Uint8Array, ext: Uint8Array | undefined): Uint8Array {
  if (!ext || ext.byteLength === 0) return info;
  const out = new Uint8Array(info.byteLength + ext.byteLength);
  out.set(info, 0);
  out.set(ext, info.byteLength);
  return out;
}

/**
 * A stored message as a sync answer's MessageInfo: with its rich fields and read count for a
 * rich_messages socket, exactly the SDK's fields for any other.
 */
export function messageInfoFor(m: StoredMessage, rich: boolean): MessageInfo {
  const info = toMessageInfo(m);
  // read_count (field 24) is ours too: the SDK's MessageInfo ends at field 23, so only a socket
  // that declared the extensions gets it (0 is not written).
  if (!rich) return { ...info, readCount: 0 };
  // decodeRich sets only the fields present, so none of the SDK's is overwritten.
  return m.ext && m.ext.byteLength > 0 ? { ...info, ...decodeRich(m.ext) } : info;
}

export function pinsFrame(update: PinsUpdate): Uint8Array {
  return encodeFrame(Cmd.CMD_PINS_PUSH, 0, pb.PinsPush, update);
}

/** Sends a frame to every authenticated rich_messages socket but the one that made the change. */
export function sendToRich(ctx: DurableObjectState, frame: Uint8Array, exceptSession: string): void {
  for (const ws of ctx.getWebSockets()) {
    const state = socketState(ws);
    if (state.authed && declaresRich(state) && state.sessionId !== exceptSession) sendFrame(ws, frame);
  }
}
