// The frames of one socket, handled one after another in the order they arrived. Frames that arrive
// while earlier ones are being handled (a send waiting on its conversation, say) are handed over
// together, so the handler can send a device's queued messages in one call. The frames waiting
// (queued or being handled) are bounded in count and bytes: past either bound a frame is refused.
import { logEvent } from "../../observability/log";

/** Most frames handed over at once. */
const MAX_FRAMES_AT_ONCE = 64;

export interface QueueBounds {
  maxFrames: number;
  maxBytes: number;
}

export class FrameQueue<T> {
  private waiting: { item: T; bytes: number; done: () => void }[] = [];
  private draining = false;
  /** Frames and bytes pushed and not yet handled, the batch being handled included. */
  private frames = 0;
  private bytes = 0;

  constructor(
    private readonly handle: (items: T[]) => Promise<void>,
    private readonly bounds: QueueBounds,
  ) {}

  /**
   * Queues a frame of `bytes` bytes; settles once it has been handled. Null, and nothing queued,
   * when it would take the queue past its bounds.
   */
  push(item: T, bytes: number): Promise<void> | null {
    if (this.frames + 1 > this.bounds.maxFrames || this.bytes + bytes > this.bounds.maxBytes) return null;
    this.frames++;
    this.bytes += bytes;
    return new Promise((done) => {
      this.waiting.push({ item, bytes, done });
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
          logEvent("error", "frame_handling_failed", {}, error);
        } finally {
          for (const b of batch) {
            this.frames--;
            this.bytes -= b.bytes;
            b.done();
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
