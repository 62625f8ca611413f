// Push frames from messages encoded once. PushMessage and BatchMessages hold their MessageInfo in
// field 1, so a MessageInfo the conversation already encoded is written as that field's bytes
// instead of being decoded into objects and encoded again by every recipient's object. The bytes
// are the same the generated encoder writes (test/workers/push-frames.test.ts).
import $protobuf from "protobufjs/minimal.js";
import { Cmd, encodeRawFrame } from "./codec";

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
