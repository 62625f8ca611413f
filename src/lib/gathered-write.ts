// A write that gathers what moves while it is busy, and costs nothing extra while it is quiet.
//
// Watermarks a socket's acks and a conversation's fan-out move (device cursors, delivered marks,
// fan-out floors) are written in batches: when many messages flow, one write a window covers them
// all. When few do (the usual chat: a message now and then in each conversation), a timer per
// message was the price: each timer that fires is an invocation of the object of its own, and a
// pending timer keeps an object awake, which Cloudflare bills by wall time (issue 20,
// docs/PERFORMANCE.md). So a write asked for when the last one is a window old or more runs at
// the end of the current turn (a microtask: what the same turn moves goes with it, in its
// implicit transaction), and one asked for sooner waits for the rest of the window.
export class GatheredWrite {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private queued = false;
  private lastWriteAt = -Infinity;

  constructor(
    /** The shortest time between two writes while writes are asked for. */
    private readonly windowMs: number,
    private readonly write: () => void,
  ) {}

  /** Something moved: the write runs at the end of this turn when quiet, within the window when busy. */
  request(): void {
    if (this.queued || this.timer) return;
    const wait = this.lastWriteAt + this.windowMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => this.now(), wait);
      return;
    }
    this.queued = true;
    queueMicrotask(() => {
      if (this.queued) this.now();
    });
  }

  /** Writes now (a socket closing, the alarm), instead of whatever was scheduled. */
  now(): void {
    this.cancel();
    this.lastWriteAt = Date.now();
    this.write();
  }

  /** Drops what was scheduled (the caller writes in its own way). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queued = false;
  }
}
