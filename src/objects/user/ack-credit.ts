// MSG_ACK answers the server's own pushes (PROTOCOL.md, decision 16): the SDK sends one frame per
// pushed message, at once, so a busy receiver's acks are as many as its pushes. Each socket may
// ack as many messages as were pushed to it and not yet acked, and those acks never count as
// requests; an ack beyond that (for something never pushed there) is what a flood looks like.
// In memory (socket-state.ts): a socket only hibernates once idle, when its acks have long arrived.
import { liveSocket } from "./socket-state";

/**
 * Most unacknowledged pushes a socket is credited with. Past it a client that never acks stops
 * earning credit; the SDK acks each message within moments, far below this.
 */
export const MAX_ACK_CREDIT = 20_000;

/** `count` messages were pushed to `ws`: it may ack that many more. */
export function creditPushes(ws: WebSocket, count: number): void {
  const socket = liveSocket(ws);
  socket.ackCredit = Math.min(MAX_ACK_CREDIT, socket.ackCredit + count);
}

/** Spends one credit for an ack; false when the socket has no push left to ack. */
export function spendAck(ws: WebSocket): boolean {
  const socket = liveSocket(ws);
  if (socket.ackCredit <= 0) return false;
  socket.ackCredit--;
  return true;
}

/** Pushes to `ws` not acked yet. */
export function unackedPushes(ws: WebSocket): number {
  return liveSocket(ws).ackCredit;
}
