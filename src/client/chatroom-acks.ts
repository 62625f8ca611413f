// When a room listener says how far it has read (CHATROOM_ACK): after every 100 messages, or 2 s after
// the first message it has not acknowledged yet, whichever comes first. The relay closes a socket that
// falls more than CHATROOM_MAX_UNACKED (default 1,000) messages behind, and acks cost the relay a
// write each, so neither one per message nor one per minute.
export const ACK_EVERY_MESSAGES = 100;
export const ACK_AFTER_MS = 2_000;

export class AckCadence {
  private unacked = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly send: () => void;
  private readonly every: number;
  private readonly afterMs: number;

  /** `send` acknowledges the cursor as it is then (it reads it itself). */
  constructor(send: () => void, every = ACK_EVERY_MESSAGES, afterMs = ACK_AFTER_MS) {
    this.send = send;
    this.every = every;
    this.afterMs = afterMs;
  }

  /** `count` messages were delivered. */
  delivered(count: number): void {
    if (count <= 0) return;
    this.unacked += count;
    if (this.unacked >= this.every) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.afterMs);
  }

  /** Acknowledges now whatever is unacknowledged. */
  flush(): void {
    this.cancel();
    this.send();
  }

  /** Forgets the clock (the socket closed: the next join acknowledges from scratch). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unacked = 0;
  }
}
