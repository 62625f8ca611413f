// Catching up a client that does not follow has_more (the iOS SDK: it stores max_seq as its cursor
// and ignores has_more, IMMessageSyncManager.swift). What its BATCH_SYNC answer left out is pushed
// after the answer as CMD_BATCH_MSG frames, page by page, paced by the client's MSG_ACKs so that a
// slow device is never sent more than a window ahead (PROTOCOL.md, decision 8).
import { Cmd, encodeFrame, pb } from "../../protocol/codec";
import { creditPushes, unackedPushes } from "./ack-credit";
import { deviceOf, type FrameContext } from "./frame-context";
import { declaresRich, messageInfoFor } from "./rich-updates";
import { liveSocket, sendFrame, type LiveSocket } from "./socket-state";
import { fitPrefix, readConversation } from "./sync-pages";
import { logEvent } from "../../observability/log";

/** What one conversation's answer left out: seqs from `fromSeq` to `toSeq`, both inclusive. */
export interface LeftOut {
  conversationId: string;
  fromSeq: number;
  toSeq: number;
}

/** Pushed but unacked messages past which the catch-up waits for acks (two pages). */
export const CATCH_UP_WINDOW = 200;
/** Messages and encoded bytes in one catch-up page: small enough for a slow link to ack in time. */
export const CATCH_UP_PAGE_MESSAGES = 100;
export const CATCH_UP_PAGE_BYTES = 256 * 1024;
/**
 * How long the catch-up waits without a single ack before it gives up; any ack restarts the
 * wait. The device keeps its cursor, so its next BATCH_SYNC resumes from what it holds.
 */
export const CATCH_UP_ACK_WAIT_MS = 15_000;
const ACK_POLL_MS = 50;

/** One catch-up per socket (socket-state.ts): a later BATCH_SYNC replaces the earlier one's rest. */
type Run = NonNullable<LiveSocket["catchUp"]>;

/** Starts pushing `leftOut` to the socket after its answer; returns at once. */
type CatchUpContext = FrameContext<"env" | "deviceCursors" | "deliveredMarks">;

export function startCatchUp(fc: CatchUpContext, leftOut: readonly LeftOut[]): void {
  const socket = liveSocket(fc.ws);
  if (socket.catchUp) socket.catchUp.cancelled = true;
  socket.catchUp = null;
  if (leftOut.length === 0) return;
  const run: Run = { cancelled: false };
  socket.catchUp = run;
  // Not awaited: the socket's later frames (its MSG_ACKs among them) must be handled meanwhile.
  void pushLeftOut(fc, leftOut, run)
    .catch((error: unknown) => logEvent("warn", "catch_up_stopped", { userId: fc.state.userId }, error))
    .finally(() => {
      if (socket.catchUp === run) socket.catchUp = null;
    });
}

async function pushLeftOut(fc: CatchUpContext, leftOut: readonly LeftOut[], run: Run): Promise<void> {
  const rich = declaresRich(fc.state);
  for (const { conversationId, fromSeq, toSeq } of leftOut) {
    let next = fromSeq;
    while (next <= toSeq) {
      if (!(await ackWindowOpen(fc.ws, run))) return;
      // Not again what the device already holds (a live push of it during the sync, acked).
      next = Math.max(next, fc.deviceCursors.held(deviceOf(fc), conversationId) + 1);
      if (next > toSeq) break;
      const read = await readConversation(fc.env, conversationId, {
        userId: fc.state.userId,
        fromSeq: next,
        toSeq,
        limit: CATCH_UP_PAGE_MESSAGES,
        newest: false,
        maxBytes: CATCH_UP_PAGE_BYTES,
      });
      if (!read.ok) break; // no longer readable by this user (left, removed): nothing more to give
      const { kept } = fitPrefix(read.messages, CATCH_UP_PAGE_BYTES);
      const last = kept[kept.length - 1];
      if (!last || run.cancelled || fc.ws.readyState !== WebSocket.OPEN) break;
      const messages = kept.map((m) => ({ message: messageInfoFor(m, rich) }));
      sendFrame(fc.ws, encodeFrame(Cmd.CMD_BATCH_MSG, 0, pb.BatchMessages, { messages }));
      creditPushes(fc.ws, kept.length);
      fc.deviceCursors.pushed(fc.ws, deviceOf(fc), conversationId, kept);
      fc.deliveredMarks.mark(conversationId, last.seq);
      next = last.seq + 1;
    }
  }
}

/**
 * Waits until the socket has acked all but CATCH_UP_WINDOW of its pushes; false to stop (the
 * socket closed, a later BATCH_SYNC took over, or no ack came for CATCH_UP_ACK_WAIT_MS).
 */
async function ackWindowOpen(ws: WebSocket, run: Run): Promise<boolean> {
  let unacked = unackedPushes(ws);
  let deadline = Date.now() + CATCH_UP_ACK_WAIT_MS;
  while (unacked > CATCH_UP_WINDOW) {
    if (run.cancelled || ws.readyState !== WebSocket.OPEN || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, ACK_POLL_MS));
    const now = unackedPushes(ws);
    if (now < unacked) deadline = Date.now() + CATCH_UP_ACK_WAIT_MS; // acks are coming: keep waiting
    unacked = now;
  }
  return !run.cancelled && ws.readyState === WebSocket.OPEN;
}
