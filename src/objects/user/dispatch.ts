// One inbound frame (its size is checked on arrival, in UserObject): type checks, one decode, then
// an exhaustive switch on the command.
import { Cmd, decodeFrame, Err, errorNotice, type Frame } from "../../protocol/codec";
import type { Settings } from "../../auth/config";
import {
  CloseCode,
  HEARTBEAT_BURST,
  HEARTBEATS_PER_SECOND,
  MAX_CONSECUTIVE_BAD_FRAMES,
  RANGE_SYNC_BURST,
} from "../../protocol/limits";
import { spendAck } from "./ack-credit";
import { TokenBucket } from "./token-bucket";
import { notice, refuse, RequestError, type FrameContext, type UserServices } from "./frame-context";
import { MAX_SENDS_PER_CALL, prepareSend, sendMessages, type PreparedSend } from "./handlers/send";
import { onlineStatus, typing } from "./handlers/live";
import { readReceipt, revokeMessage } from "./handlers/receipts";
import { authenticate, connect, disconnect, heartbeat, serverOnly } from "./handlers/session";
import { ackMessage, batchSync, syncRange } from "./handlers/sync";
import { closeSocket, saveSocketState, sendFrame, socketState } from "./socket-state";

type Handler = (fc: FrameContext) => void | Promise<void>;

/** A socket's budgets; in memory, so a hibernated socket wakes with full ones. */
interface SocketBudgets {
  /** Requests that are not one of the kinds below (socketRequestsPerSecond, socketRequestBurst). */
  requests: TokenBucket;
  /** SYNC_RANGE: the SDK fills every conversation's hole at once after a reconnect. */
  rangeSyncs: TokenBucket;
  /** HEARTBEAT: free up to a budget no client beating every 30 s can reach. */
  heartbeats: TokenBucket;
}
const budgets = new WeakMap<WebSocket, SocketBudgets>();
function budgetsOf(ws: WebSocket, settings: Settings): SocketBudgets {
  let found = budgets.get(ws);
  if (!found) {
    found = {
      requests: new TokenBucket(settings.socketRequestsPerSecond, settings.socketRequestBurst),
      rangeSyncs: new TokenBucket(settings.socketRequestsPerSecond, RANGE_SYNC_BURST),
      heartbeats: new TokenBucket(HEARTBEATS_PER_SECOND, HEARTBEAT_BURST),
    };
    budgets.set(ws, found);
  }
  return found;
}

/**
 * The SDK's own traffic never meets a refusal (PROTOCOL.md, decision 16; docs/RELIABILITY.md,
 * "Per-socket limits"): MSG_ACKs within what was pushed to the socket, heartbeats, and sends (the
 * per-user send bucket bounds those) take nothing from the request budget. What remains is
 * counted; a refusal is an ErrorNotice, except for an ack, which is dropped unanswered.
 */
function admit(ws: WebSocket, frame: Frame, settings: Settings, authed: boolean): "pass" | "refuse" | "drop" {
  const budget = budgetsOf(ws, settings);
  switch (frame.command) {
    case Cmd.CMD_MSG_ACK:
      return spendAck(ws) || budget.requests.take() ? "pass" : "drop";
    case Cmd.CMD_HEARTBEAT_REQ:
      // Past its own generous budget a heartbeat is just another request.
      return budget.heartbeats.take() || budget.requests.take() ? "pass" : "refuse";
    case Cmd.CMD_SEND_MSG_REQ:
      return authed || budget.requests.take() ? "pass" : "refuse";
    case Cmd.CMD_SYNC_RANGE_REQ:
      return budget.rangeSyncs.take() ? "pass" : "refuse";
    default:
      return budget.requests.take() ? "pass" : "refuse";
  }
}

/** Handlers that need an authenticated socket (PROTOCOL.md, decision 4). */
function authed(fc: FrameContext, handler: Handler): void | Promise<void> {
  if (!fc.state.authed) return refuse(fc, Err.ERR_AUTH_FAILED, "authenticate first (CMD_AUTH_REQ)");
  return handler(fc);
}

function route(fc: FrameContext): void | Promise<void> {
  const command = fc.frame.command as Cmd;
  switch (command) {
    case Cmd.CMD_CONNECT_REQ:
      return connect(fc);
    case Cmd.CMD_HEARTBEAT_REQ:
      return heartbeat(fc);
    case Cmd.CMD_AUTH_REQ:
      return authenticate(fc, Cmd.CMD_AUTH_RSP);
    case Cmd.CMD_REAUTH_REQ:
      return authenticate(fc, Cmd.CMD_REAUTH_RSP);
    case Cmd.CMD_DISCONNECT_REQ:
      return disconnect(fc);
    case Cmd.CMD_SEND_MSG_REQ:
      // Authenticated sends are gathered in handleFrames; this one is refused.
      return authed(fc, () => sendMessages([prepareSend(fc)]));
    case Cmd.CMD_MSG_ACK:
      return authed(fc, ackMessage);
    case Cmd.CMD_BATCH_SYNC_REQ:
      return authed(fc, batchSync);
    case Cmd.CMD_SYNC_RANGE_REQ:
      return authed(fc, syncRange);
    case Cmd.CMD_REVOKE_MSG_REQ:
      return authed(fc, revokeMessage);
    case Cmd.CMD_READ_RECEIPT_REQ:
      return authed(fc, readReceipt);
    case Cmd.CMD_ONLINE_STATUS_REQ:
      return authed(fc, onlineStatus);
    case Cmd.CMD_TYPING_STATUS_REQ:
      return authed(fc, typing);
    case Cmd.CMD_UNKNOWN:
    case Cmd.CMD_CONNECT_RSP:
    case Cmd.CMD_DISCONNECT_RSP:
    case Cmd.CMD_HEARTBEAT_RSP:
    case Cmd.CMD_AUTH_RSP:
    case Cmd.CMD_REAUTH_RSP:
    case Cmd.CMD_KICK_OUT:
    case Cmd.CMD_SEND_MSG_RSP:
    case Cmd.CMD_PUSH_MSG:
    case Cmd.CMD_BATCH_MSG:
    case Cmd.CMD_REVOKE_MSG_RSP:
    case Cmd.CMD_REVOKE_MSG_PUSH:
    case Cmd.CMD_BATCH_SYNC_RSP:
    case Cmd.CMD_SYNC_FINISHED:
    case Cmd.CMD_SYNC_RANGE_RSP:
    case Cmd.CMD_ONLINE_STATUS_RSP:
    case Cmd.CMD_STATUS_CHANGE_PUSH:
    case Cmd.CMD_READ_RECEIPT_RSP:
    case Cmd.CMD_READ_RECEIPT_PUSH:
    case Cmd.CMD_TYPING_STATUS_PUSH:
      return authed(fc, serverOnly);
    default: {
      const unknown: never = command;
      const code = fc.state.authed ? Err.ERR_INVALID_PARAM : Err.ERR_AUTH_FAILED;
      return notice(fc, code, `unknown command ${String(unknown)}`);
    }
  }
}

/** Counts a text or undecodable frame; too many in a row closes the socket (decision 3). */
function badFrame(ws: WebSocket, message: string, ref: Frame | null): void {
  const state = socketState(ws);
  const badFrames = state.badFrames + 1;
  saveSocketState(ws, { ...state, badFrames });
  sendFrame(ws, errorNotice(Err.ERR_INVALID_PARAM, message, ref));
  if (badFrames >= MAX_CONSECUTIVE_BAD_FRAMES) {
    closeSocket(ws, CloseCode.policyViolation, "too many invalid frames");
  }
}

/** What to do with a frame refused before any handler: run in its turn, after the sends before it. */
type Refusal = () => void;

/** Checks and decodes one frame: its context, or the refusal it gets instead. */
function openFrame(
  services: UserServices,
  ws: WebSocket,
  data: string | ArrayBuffer,
): FrameContext | Refusal {
  if (typeof data === "string")
    return () => badFrame(ws, "text frames are not accepted: send binary protobuf frames", null);
  let frame: Frame;
  try {
    frame = decodeFrame(new Uint8Array(data));
  } catch {
    return () => badFrame(ws, "undecodable frame: expected a WebSocketMessage", null);
  }
  const { settings } = services;
  switch (admit(ws, frame, settings, socketState(ws).authed)) {
    case "pass":
      break;
    case "drop":
      return () => {};
    case "refuse": {
      const message = `too many requests: at most ${settings.socketRequestsPerSecond} a second`;
      return () => sendFrame(ws, errorNotice(Err.ERR_SEND_TOO_FAST, message, frame));
    }
  }
  let state = socketState(ws);
  if (state.badFrames > 0) {
    state = { ...state, badFrames: 0 };
    saveSocketState(ws, state);
  }
  return { ...services, ws, state, frame };
}

/** A refusal becomes the request's error answer; anything else is logged and answered as internal. */
function answerFailure(fc: FrameContext, error: unknown): void {
  if (error instanceof RequestError) return refuse(fc, error.code, error.message);
  console.error(`user ${fc.state.userId}: command ${fc.frame.command} failed`, error);
  refuse(fc, Err.ERR_UNKNOWN, "internal error");
}

/** Runs a handler, answering its failure. */
async function run(fc: FrameContext, handler: () => void | Promise<void>): Promise<void> {
  try {
    await handler();
  } catch (error) {
    answerFailure(fc, error);
  }
}

/**
 * Handles a socket's frames in the order they arrived. Consecutive sends to one conversation are
 * gathered and stored with one call (handlers/send.ts); any other frame first waits for the sends
 * before it, so answers and effects keep the device's order.
 */
export async function handleFrames(
  services: UserServices,
  ws: WebSocket,
  frames: readonly (string | ArrayBuffer)[],
): Promise<void> {
  let sends: PreparedSend[] = [];
  const flushSends = async () => {
    const batch = sends;
    sends = [];
    const [first] = batch;
    // Sends checked before the socket began to close are dropped with it, never stored unseen.
    if (first && ws.readyState === WebSocket.OPEN) await run(first.fc, () => sendMessages(batch));
  };
  for (const data of frames) {
    // Frames queued behind a DISCONNECT, a failed AUTH or a kick are not acted on: the socket is
    // closing, so their answers could never arrive and a send among them would be stored unseen.
    if (ws.readyState !== WebSocket.OPEN) return;
    const fc = openFrame(services, ws, data);
    if (typeof fc === "function") {
      await flushSends();
      fc();
      continue;
    }
    if (fc.frame.command === Cmd.CMD_SEND_MSG_REQ && fc.state.authed) {
      let prepared: PreparedSend;
      try {
        prepared = prepareSend(fc);
      } catch (error) {
        // Refused in its turn: the sends before it are answered first.
        await flushSends();
        answerFailure(fc, error);
        continue;
      }
      const joins = sends[0]?.input.conversationId === prepared.input.conversationId;
      if (!joins || sends.length >= MAX_SENDS_PER_CALL) await flushSends();
      sends.push(prepared);
      continue;
    }
    await flushSends();
    await run(fc, () => route(fc));
  }
  await flushSends();
}
