// Rich-message changes (docs/RICH-MESSAGES.md) as frames for the sockets that declared the
// rich_messages feature in AUTH; every other socket (the iOS SDK's) never gets them.
import { Cmd, encodeFrame, encodeRawFrame, pb } from "../../protocol/codec";
import { pushMessageBody } from "../../protocol/push-frames";
import type { MessageUpdate, PinsUpdate } from "../rpc";
import { sendFrame, socketState, type SocketState } from "./socket-state";

/** The feature a client names in AuthRequest.features to get rich messages. */
export const RICH_MESSAGES = "rich_messages";

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
