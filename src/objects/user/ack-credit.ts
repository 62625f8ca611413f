// MSG_ACK answers the server's own pushes (PROTOCOL.md, decision 16): the SDK sends one frame per
// pushed message, at once, so a busy receiver's acks are as many as its pushes. Each socket may
// ack as many messages as were pushed to it and not yet acked, and those acks never count as
// requests; an ack beyond that (for something never pushed there) is what a flood looks like.
// In memory: a socket only hibernates once idle, when its acks have long arrived.

/**
 * Most unacknowledged pushes a socket is credited with. Past it a client that never acks stops
 * earning credit; the SDK acks each message within moments, far below this.
 */
export const MAX_ACK_CREDIT = 20_000;

const credits = new WeakMap<WebSocket, number>();

/** `count` messages were pushed to `ws`: it may ack that many more. */
export function creditPushes(ws: WebSocket, count: number): void {
  credits.set(ws, Math.min(MAX_ACK_CREDIT, (credits.get(ws) ?? 0) + count));
}

/** Spends one credit for an ack; false when the socket has no push left to ack. */
export function spendAck(ws: WebSocket): boolean {
  const credit = credits.get(ws) ?? 0;
  if (credit <= 0) return false;
  credits.set(ws, credit - 1);
  return true;
}

/** Pushes to `ws` not acked yet. */
export function unackedPushes(ws: WebSocket): number {
  return credits.get(ws) ?? 0;
}
