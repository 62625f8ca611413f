// Every command a listener may send on a room socket, and the file that handles it:
// handlers/<command>.ts. Any other number gets an ErrorNotice (CMD_UNKNOWN).
import { Cmd } from "../../protocol/codec";
import { chatroomAck } from "./handlers/ack";
import { chatroomHeartbeat } from "./handlers/heartbeat";
import { chatroomHistory } from "./handlers/history";
import { chatroomSend } from "./handlers/send";
import type { RelayFrame } from "./relay-frame";

export interface RelayCommand {
  handler: (fc: RelayFrame) => void | Promise<void>;
  /** The command a refusal is answered with; null: an ErrorNotice. */
  response: Cmd | null;
}

export const RELAY_COMMANDS: ReadonlyMap<number, RelayCommand> = new Map<Cmd, RelayCommand>([
  [Cmd.CMD_HEARTBEAT_REQ, { handler: chatroomHeartbeat, response: Cmd.CMD_HEARTBEAT_RSP }],
  [Cmd.CMD_CHATROOM_SEND_REQ, { handler: chatroomSend, response: Cmd.CMD_CHATROOM_SEND_RSP }],
  [Cmd.CMD_CHATROOM_ACK, { handler: chatroomAck, response: null }],
  [Cmd.CMD_CHATROOM_HISTORY_REQ, { handler: chatroomHistory, response: Cmd.CMD_CHATROOM_HISTORY_RSP }],
]);
