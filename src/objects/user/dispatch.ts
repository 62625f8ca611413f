// One socket's frames: each is checked against the socket's budgets and decoded once, then handled
// by its command's entry in the table (commands.ts), in the order the frames arrived.
import { Cmd, decodeFrame, Err, errorNotice, type Frame } from "../../protocol/codec";
import type { Settings } from "../../config/settings";
import {
  CloseCode,
  HEARTBEAT_BURST,
  HEARTBEATS_PER_SECOND,
  MAX_CONSECUTIVE_BAD_FRAMES,
  RANGE_SYNC_BURST,
} from "../../protocol/limits";
import { spendAck } from "./ack-credit";
import { commandSpec, type CommandSpec, type GatheredCommand } from "./commands";
import {
  frameLogFields,
  notice,
  refuse,
  RequestError,
  type FrameContext,
  type FrameScope,
  type UserServices,
} from "./frame-context";
import { MAX_SENDS_PER_CALL, type PreparedSend } from "./handlers/send";
import { TokenBucket } from "./token-bucket";
import {
  closeSocket,
  liveSocket,
  saveSocketState,
  sendFrame,
  socketState,
  type SocketBudgets,
} from "./socket-state";
import { logEvent } from "../../observability/log";

/** A socket's budgets; in memory, so a hibernated socket wakes with full ones. */
function budgetsOf(ws: WebSocket, settings: Settings): SocketBudgets {
  const socket = liveSocket(ws);
  socket.budgets ??= {
    requests: new TokenBucket(settings.socketRequestsPerSecond, settings.socketRequestBurst),
    rangeSyncs: new TokenBucket(settings.socketRequestsPerSecond, RANGE_SYNC_BURST),
    heartbeats: new TokenBucket(HEARTBEATS_PER_SECOND, HEARTBEAT_BURST),
  };
  return socket.budgets;
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

/** What to do with a frame refused before any handler: run in its turn, after the sends before it. */
type Refusal = () => void;

/** Why the frame's command may not run on this socket now, or null (PROTOCOL.md, decision 4). */
function unauthorized(fc: FrameContext, spec: CommandSpec | null): Refusal | null {
  if (!spec) {
    const code = fc.state.authed ? Err.ERR_INVALID_PARAM : Err.ERR_AUTH_FAILED;
    return () => notice(fc, code, `unknown command ${fc.frame.command}`);
  }
  if (spec.needsAuth && !fc.state.authed)
    return () => refuse(fc, Err.ERR_AUTH_FAILED, "authenticate first (CMD_AUTH_REQ)");
  return null;
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
function answerFailure(fc: FrameScope, error: unknown): void {
  if (error instanceof RequestError) return refuse(fc, error.code, error.message);
  logEvent("error", "command_failed", { ...frameLogFields(fc), code: Err.ERR_UNKNOWN }, error);
  refuse(fc, Err.ERR_UNKNOWN, "internal error");
}

/** Runs a handler, answering its failure. */
async function run(fc: FrameScope, handler: () => void | Promise<void>): Promise<void> {
  try {
    await handler();
  } catch (error) {
    answerFailure(fc, error);
  }
}

/**
 * Handles a socket's frames in the order they arrived. Consecutive sends to one conversation are
 * gathered and stored with one call (commands.ts, GatheredCommand); any other frame first waits
 * for the sends before it, so answers and effects keep the device's order.
 */
export async function handleFrames(
  services: UserServices,
  ws: WebSocket,
  frames: readonly (string | ArrayBuffer)[],
): Promise<void> {
  let gathered: { spec: GatheredCommand; batch: PreparedSend[] } | null = null;
  const flushGathered = async () => {
    if (!gathered) return;
    const { spec, batch } = gathered;
    gathered = null;
    const [first] = batch;
    // Sends checked before the socket began to close are dropped with it, never stored unseen.
    if (first && ws.readyState === WebSocket.OPEN) await run(first.fc, () => spec.run(batch));
  };
  for (const data of frames) {
    // Frames queued behind a DISCONNECT, a failed AUTH or a kick are not acted on: the socket is
    // closing, so their answers could never arrive and a send among them would be stored unseen.
    if (ws.readyState !== WebSocket.OPEN) return;
    const fc = openFrame(services, ws, data);
    const spec = typeof fc === "function" ? null : commandSpec(fc.frame.command);
    const refusal = typeof fc === "function" ? fc : unauthorized(fc, spec);
    if (refusal || !spec || typeof fc === "function") {
      // Refused in its turn: the sends before it are answered first.
      await flushGathered();
      refusal?.();
      continue;
    }
    if ("prepare" in spec) {
      let prepared: PreparedSend;
      try {
        prepared = spec.prepare(fc);
      } catch (error) {
        await flushGathered();
        answerFailure(fc, error);
        continue;
      }
      const joins = gathered?.batch[0]?.conversationId === prepared.conversationId;
      if (!joins || (gathered?.batch.length ?? 0) >= MAX_SENDS_PER_CALL) await flushGathered();
      gathered ??= { spec, batch: [] };
      gathered.batch.push(prepared);
      continue;
    }
    await flushGathered();
    await run(fc, () => spec.handler(fc));
  }
  await flushGathered();
}
