// What an SDK-shaped client (one that never declared rich_messages) may receive: frames whose
// commands the SDK knows (under 1000) and, inside them, only fields its own proto defines
// (IMSDK's IMProtocol.proto: MessageInfo ends at field 23, so even our read_count, 24, is
// unknown to it), checked on the wire bytes with protobufjs's Reader (the generated decoders
// would keep unknown fields quietly).
import $protobuf from "protobufjs/minimal.js";
import { Cmd } from "../../src/protocol/codec.ts";

/** A message as the SDK's proto has it: its highest field number, and the fields holding messages. */
interface Layout {
  maxField: number;
  nested?: { [field: number]: Layout };
}

const MESSAGE_INFO: Layout = { maxField: 23 };
const PUSH_MESSAGE: Layout = { maxField: 1, nested: { 1: MESSAGE_INFO } };
const CONVERSATION_MESSAGES: Layout = { maxField: 5, nested: { 2: MESSAGE_INFO } };

/** The SDK's layout of each command's body; a command not listed here is checked by number only. */
const LAYOUTS: Partial<Record<number, Layout>> = {
  [Cmd.CMD_CONNECT_RSP]: { maxField: 4 },
  [Cmd.CMD_HEARTBEAT_RSP]: { maxField: 1 },
  [Cmd.CMD_AUTH_RSP]: { maxField: 3 },
  [Cmd.CMD_REAUTH_RSP]: { maxField: 3 },
  [Cmd.CMD_KICK_OUT]: { maxField: 2 },
  [Cmd.CMD_SEND_MSG_RSP]: { maxField: 6 },
  [Cmd.CMD_PUSH_MSG]: PUSH_MESSAGE,
  [Cmd.CMD_BATCH_MSG]: { maxField: 1, nested: { 1: PUSH_MESSAGE } },
  [Cmd.CMD_REVOKE_MSG_RSP]: { maxField: 2 },
  [Cmd.CMD_REVOKE_MSG_PUSH]: { maxField: 4 },
  [Cmd.CMD_BATCH_SYNC_RSP]: { maxField: 5, nested: { 3: CONVERSATION_MESSAGES } },
  [Cmd.CMD_SYNC_RANGE_RSP]: { maxField: 8, nested: { 5: MESSAGE_INFO } },
  [Cmd.CMD_READ_RECEIPT_RSP]: { maxField: 2 },
  [Cmd.CMD_READ_RECEIPT_PUSH]: { maxField: 4 },
  [Cmd.CMD_TYPING_STATUS_PUSH]: { maxField: 3 },
};

/** Field numbers in `bytes`, and in the nested messages `layout` names, that the SDK's proto lacks. */
export function unknownFieldNumbers(bytes: Uint8Array, layout: Layout): number[] {
  const found: number[] = [];
  const reader = $protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field > layout.maxField) found.push(field);
    const inner = layout.nested?.[field];
    if (inner && wireType === 2) found.push(...unknownFieldNumbers(reader.bytes(), inner));
    else reader.skipType(wireType);
  }
  return found;
}

/** Why a frame (command and body) is not one the SDK could take whole, or null when it is. */
export function notForSdk(command: number, body: Uint8Array): string | null {
  if (command >= 1000) return `command ${command}`;
  const layout = LAYOUTS[command];
  const unknown = layout ? unknownFieldNumbers(body, layout) : [];
  return unknown.length > 0 ? `command ${command} carries fields ${unknown.join(", ")}` : null;
}
