// Push frames from messages encoded once. PushMessage and BatchMessages hold their MessageInfo in
// field 1, so a MessageInfo the conversation already encoded is written as that field's bytes
// instead of being decoded into objects and encoded again by every recipient's object. The bytes
// are the same the generated encoder writes (test/workers/push-frames.test.ts).
import $protobuf from "protobufjs/minimal.js";
import { Cmd, encodeRawFrame } from "./codec";
import { MAX_FRAME_BYTES } from "./limits";

/** Room for the envelope and the field tags around a batch's messages. */
const FRAME_OVERHEAD_BYTES = 1024;
/** Per message in a batch: the two field tags and two length prefixes. */
const ENTRY_OVERHEAD_BYTES = 12;

/** Field 1, wire type 2 (length-delimited): `message` in PushMessage, `messages` in BatchMessages. */
const FIELD_1_BYTES = (1 << 3) | 2;

/** PushMessage { message } around an encoded MessageInfo. */
export function pushMessageBody(info: Uint8Array): Uint8Array {
  return $protobuf.Writer.create().uint32(FIELD_1_BYTES).bytes(info).finish();
}

/** BatchMessages { messages: PushMessage[] } around encoded MessageInfos. */
export function batchMessagesBody(infos: readonly Uint8Array[]): Uint8Array {
  const writer = $protobuf.Writer.create();
  for (const info of infos) writer.uint32(FIELD_1_BYTES).fork().uint32(FIELD_1_BYTES).bytes(info).ldelim();
  return writer.finish();
}

/** One message as CMD_PUSH_MSG, several as one CMD_BATCH_MSG; null when there is nothing. */
export function pushFrame(infos: readonly Uint8Array[]): Uint8Array | null {
  const [only] = infos;
  if (!only) return null;
  if (infos.length === 1) return encodeRawFrame(Cmd.CMD_PUSH_MSG, 0, pushMessageBody(only));
  return encodeRawFrame(Cmd.CMD_BATCH_MSG, 0, batchMessagesBody(infos));
}

/**
 * The messages as push frames, in order, none over the frame limit (PROTOCOL.md, decision 9): a
 * gathered delivery (a burst of sends, a gap fill) is cut into as many CMD_BATCH_MSG as it needs.
 */
export function pushFrames(infos: readonly Uint8Array[], maxBytes = MAX_FRAME_BYTES): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let start = 0;
  let size = FRAME_OVERHEAD_BYTES;
  for (let i = 0; i < infos.length; i++) {
    const entry = (infos[i] as Uint8Array).byteLength + ENTRY_OVERHEAD_BYTES;
    if (i > start && size + entry > maxBytes) {
      frames.push(pushFrame(infos.slice(start, i)) as Uint8Array);
      start = i;
      size = FRAME_OVERHEAD_BYTES;
    }
    size += entry;
  }
  const rest = pushFrame(infos.slice(start));
  if (rest) frames.push(rest);
  return frames;
}
