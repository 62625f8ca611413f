// The per-sender send rate of one room: a token bucket per sender, in memory (an evicted room starts
// everyone afresh, which only errs on the generous side). Bounded: past MAX_SENDERS tracked, the
// longest-idle sender's bucket is dropped (Map order is insertion order; a take moves it last).
import { TokenBucket } from "../user/token-bucket";

const MAX_SENDERS = 10_000;

export class SenderLimits {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(senderId: string): boolean {
    let bucket = this.buckets.get(senderId);
    if (bucket) this.buckets.delete(senderId);
    else bucket = new TokenBucket(this.rate, this.burst);
    this.buckets.set(senderId, bucket);
    if (this.buckets.size > MAX_SENDERS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return bucket.take();
  }
}
