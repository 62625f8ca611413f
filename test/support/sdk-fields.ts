// What an SDK-shaped client (one that never declared rich_messages) may receive: frames whose
// commands the SDK knows (under 1000) and, inside them, no field numbered 100 or more, checked on
// the wire bytes with protobufjs's Reader (the generated decoders would keep unknown fields quietly).
import $protobuf from "protobufjs/minimal.js";
import { Cmd } from "../../src/protocol/codec.ts";

/** Under each command: which fields hold messages to look inside, by their message's layout. */
type Layout = { [field: number]: Layout };
const MESSAGE_INFO: Layout = {};
const PUSH_MESSAGE: Layout = { 1: MESSAGE_INFO };
const LAYOUTS: Partial<Record<number, Layout>> = {
  [Cmd.CMD_PUSH_MSG]: PUSH_MESSAGE,
  [Cmd.CMD_BATCH_MSG]: { 1: PUSH_MESSAGE },
  [Cmd.CMD_BATCH_SYNC_RSP]: { 3: { 2: MESSAGE_INFO } },
  [Cmd.CMD_SYNC_RANGE_RSP]: { 5: MESSAGE_INFO },
};

/** Field numbers of 100 or more found in `bytes` and in the nested messages `layout` names. */
export function richFieldNumbers(bytes: Uint8Array, layout: Layout = {}): number[] {
  const found: number[] = [];
  const reader = $protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field >= 100) found.push(field);
    const inner = layout[field];
    if (inner && wireType === 2) found.push(...richFieldNumbers(reader.bytes(), inner));
    else reader.skipType(wireType);
  }
  return found;
}

/** Why a frame (command and body) is not one the SDK could take, or null when it is. */
export function notForSdk(command: number, body: Uint8Array): string | null {
  if (command >= 1000) return `command ${command}`;
  const rich = richFieldNumbers(body, LAYOUTS[command] ?? {});
  return rich.length > 0 ? `command ${command} carries fields ${rich.join(", ")}` : null;
}
