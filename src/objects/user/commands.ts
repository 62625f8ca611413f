// Every command a client may send, and the file that handles it: handlers/<command>.ts. Any other
// number is one of the server's own commands or one the protocol does not have, each refused as
// such (PROTOCOL.md lists them all).
import { Cmd, Err } from "../../protocol/codec";
import { notice, type FrameContext } from "./frame-context";
import { auth, reauth } from "./handlers/auth";
import { batchSync } from "./handlers/batch-sync";
import { changes } from "./handlers/changes";
import { connect } from "./handlers/connect";
import { disconnect } from "./handlers/disconnect";
import { editHistory } from "./handlers/edit-history";
import { editMsg } from "./handlers/edit-msg";
import { heartbeat } from "./handlers/heartbeat";
import { msgAck } from "./handlers/msg-ack";
import { onlineStatus } from "./handlers/online-status";
import { pin } from "./handlers/pin";
import { react } from "./handlers/react";
import { readReceipt } from "./handlers/read-receipt";
import { revoke } from "./handlers/revoke";
import { prepareSend, sendMessages, type PreparedSend } from "./handlers/send";
import { syncRange } from "./handlers/sync-range";
import { thread } from "./handlers/thread";
import { typing } from "./handlers/typing";

export type Handler = (fc: FrameContext) => void | Promise<void>;

interface CommandBase {
  /** The command the server answers with; null when the request has no answer of its own. */
  response: Cmd | null;
  /** Refused with ERR_AUTH_FAILED before AUTH (PROTOCOL.md, decision 4). */
  needsAuth: boolean;
}

/** A command handled frame by frame. */
export interface EachCommand extends CommandBase {
  handler: Handler;
}

/**
 * SEND_MSG_REQ: a device's consecutive sends to one conversation are gathered and stored with one
 * call (dispatch.ts): each is checked on its own (`prepare`), then they go together (`run`).
 */
export interface GatheredCommand extends CommandBase {
  prepare: (fc: FrameContext) => PreparedSend;
  run: (batch: readonly PreparedSend[]) => Promise<void>;
}

export type CommandSpec = EachCommand | GatheredCommand;

export const CLIENT_COMMANDS: ReadonlyMap<number, CommandSpec> = new Map<Cmd, CommandSpec>([
  [Cmd.CMD_CONNECT_REQ, { handler: connect, response: Cmd.CMD_CONNECT_RSP, needsAuth: false }],
  [Cmd.CMD_HEARTBEAT_REQ, { handler: heartbeat, response: Cmd.CMD_HEARTBEAT_RSP, needsAuth: false }],
  [Cmd.CMD_AUTH_REQ, { handler: auth, response: Cmd.CMD_AUTH_RSP, needsAuth: false }],
  [Cmd.CMD_REAUTH_REQ, { handler: reauth, response: Cmd.CMD_REAUTH_RSP, needsAuth: false }],
  [Cmd.CMD_DISCONNECT_REQ, { handler: disconnect, response: Cmd.CMD_DISCONNECT_RSP, needsAuth: false }],
  [
    Cmd.CMD_SEND_MSG_REQ,
    { prepare: prepareSend, run: sendMessages, response: Cmd.CMD_SEND_MSG_RSP, needsAuth: true },
  ],
  [Cmd.CMD_MSG_ACK, { handler: msgAck, response: null, needsAuth: true }],
  [Cmd.CMD_BATCH_SYNC_REQ, { handler: batchSync, response: Cmd.CMD_BATCH_SYNC_RSP, needsAuth: true }],
  [Cmd.CMD_SYNC_RANGE_REQ, { handler: syncRange, response: Cmd.CMD_SYNC_RANGE_RSP, needsAuth: true }],
  [Cmd.CMD_REVOKE_MSG_REQ, { handler: revoke, response: Cmd.CMD_REVOKE_MSG_RSP, needsAuth: true }],
  [Cmd.CMD_READ_RECEIPT_REQ, { handler: readReceipt, response: Cmd.CMD_READ_RECEIPT_RSP, needsAuth: true }],
  [
    Cmd.CMD_ONLINE_STATUS_REQ,
    { handler: onlineStatus, response: Cmd.CMD_ONLINE_STATUS_RSP, needsAuth: true },
  ],
  [Cmd.CMD_TYPING_STATUS_REQ, { handler: typing, response: null, needsAuth: true }],
  // Rich messages (docs/RICH-MESSAGES.md): answered only on a socket that declared rich_messages.
  [Cmd.CMD_REACT_REQ, { handler: react, response: Cmd.CMD_REACT_RSP, needsAuth: true }],
  [Cmd.CMD_EDIT_MSG_REQ, { handler: editMsg, response: Cmd.CMD_EDIT_MSG_RSP, needsAuth: true }],
  [Cmd.CMD_PIN_REQ, { handler: pin, response: Cmd.CMD_PIN_RSP, needsAuth: true }],
  [Cmd.CMD_THREAD_REQ, { handler: thread, response: Cmd.CMD_THREAD_RSP, needsAuth: true }],
  [Cmd.CMD_CHANGES_REQ, { handler: changes, response: Cmd.CMD_CHANGES_RSP, needsAuth: true }],
  [Cmd.CMD_EDIT_HISTORY_REQ, { handler: editHistory, response: Cmd.CMD_EDIT_HISTORY_RSP, needsAuth: true }],
]);

/**
 * One of the server's own commands (CMD_UNKNOWN among them), or a chatroom command, which belongs on
 * a /ws/chatroom socket (docs/CHATROOMS.md), sent by a client on /ws.
 */
const SERVER_COMMAND: EachCommand = {
  handler: (fc) =>
    notice(
      fc,
      Err.ERR_INVALID_PARAM,
      fc.frame.command >= Cmd.CMD_CHATROOM_JOINED && fc.frame.command <= Cmd.CMD_CHATROOM_CLOSED
        ? `command ${fc.frame.command} belongs on a chatroom socket (/ws/chatroom/:id), not /ws`
        : `command ${fc.frame.command} is sent by the server, not the client`,
    ),
  response: null,
  needsAuth: true,
};

/** How a command number is handled; null for a number the protocol does not have. */
export function commandSpec(command: number): CommandSpec | null {
  return CLIENT_COMMANDS.get(command) ?? (command in Cmd ? SERVER_COMMAND : null);
}
