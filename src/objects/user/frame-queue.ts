// The frames of one socket, handled one after another in the order they arrived. Frames that arrive
// while earlier ones are being handled (a send waiting on its conversation, say) are handed over
// together, so the handler can send a device's queued messages in one call.

/** Most frames handed over at once. */
const MAX_FRAMES_AT_ONCE = 64;

export class FrameQueue<T> {
  private waiting: { item: T; done: () => void }[] = [];
  private draining = false;

  constructor(private readonly handle: (items: T[]) => Promise<void>) {}

  /** Queues a frame; settles once it has been handled. */
  push(item: T): Promise<void> {
    return new Promise((done) => {
      this.waiting.push({ item, done });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_FRAMES_AT_ONCE);
        try {
          await this.handle(batch.map((b) => b.item));
        } catch (error) {
          console.error("frame handling failed", error);
        } finally {
          for (const b of batch) b.done();
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
