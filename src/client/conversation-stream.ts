// One conversation's ordered delivery: contiguous cursor, out-of-order buffer, SYNC_RANGE gap fill.
import { IMError } from "./errors.ts";
import type { Message } from "./types.ts";

export interface Incoming {
  message: Message;
  /** It came in a push (and is answered with MSG_ACK once delivered). */
  pushed: boolean;
}

export interface RangePage {
  messages: Message[];
  endSeq: number;
  hasMore: boolean;
}

export interface StreamDeps {
  /** SYNC_RANGE for [startSeq, endSeq]. */
  fetchRange(conversationId: string, startSeq: number, endSeq: number): Promise<RangePage>;
  /** Stores and emits a contiguous batch; never throws. */
  deliver(conversationId: string, batch: Incoming[], cursor: number): Promise<void>;
  /** A gap could not be filled now (e.g. the socket closed); the next batch sync will. */
  gapFailed(conversationId: string, error: unknown): void;
}

export class ConversationStream {
  readonly id: string;
  private position: number;
  private readonly ahead = new Map<number, Incoming>();
  private chain: Promise<void> = Promise.resolve();
  private filling = false;
  private readonly deps: StreamDeps;

  constructor(id: string, cursor: number, deps: StreamDeps) {
    this.id = id;
    this.position = cursor;
    this.deps = deps;
  }

  /** The highest seq delivered with nothing missing below it. */
  get cursor(): number {
    return this.position;
  }

  /** Messages held back because something before them is missing. */
  get waiting(): number {
    return this.ahead.size;
  }

  /**
   * Takes messages in any order, duplicates included; resolves once everything that became
   * contiguous is delivered. A hole left behind starts a gap fill.
   */
  offer(items: readonly Incoming[]): Promise<void> {
    for (const item of items) {
      const seq = item.message.seq;
      if (seq <= this.position || this.ahead.has(seq)) continue;
      this.ahead.set(seq, item);
    }
    const drained = this.drain();
    return drained.then(() => {
      if (this.ahead.size > 0) void this.fillGaps();
    });
  }

  /** Delivers the contiguous run after the cursor; runs one at a time, so batches stay in order. */
  private drain(): Promise<void> {
    const run = this.chain.then(async () => {
      const batch: Incoming[] = [];
      let next = this.position + 1;
      for (let item = this.ahead.get(next); item !== undefined; item = this.ahead.get(next)) {
        batch.push(item);
        this.ahead.delete(next);
        next++;
      }
      if (batch.length === 0) return;
      this.position = next - 1; // before the await: offers meanwhile see the new cursor
      await this.deps.deliver(this.id, batch, this.position);
    });
    this.chain = run.catch(() => undefined); // deliver never throws; a bug there must not stall the stream
    return run;
  }

  private lowestAhead(): number {
    let lowest = Infinity;
    for (const seq of this.ahead.keys()) if (seq < lowest) lowest = seq;
    return lowest;
  }

  private async fillGaps(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (this.ahead.size > 0) {
        await this.chain;
        // A delivery queued before this fill may have taken everything that was waiting.
        if (this.ahead.size === 0) break;
        const end = this.lowestAhead() - 1;
        if (end < this.position) {
          // Cannot happen (offer keeps only seqs above the cursor); never spin on it.
          for (const seq of this.ahead.keys()) if (seq <= this.position) this.ahead.delete(seq);
          continue;
        }
        if (end === this.position) {
          await this.drain();
          continue;
        }
        let from = this.position + 1;
        let page: RangePage;
        do {
          page = await this.deps.fetchRange(this.id, from, end);
          await this.offer(page.messages.map((message) => ({ message, pushed: false })));
          from = Math.max(page.endSeq, this.position) + 1;
        } while (page.hasMore && from <= end);
        if (this.position < end) {
          // The server has nothing there (history this user may not read): go on past the hole.
          const error = new IMError("protocol", 0, `${this.id}: seq ${this.position + 1}-${end} unavailable`);
          this.deps.gapFailed(this.id, error);
          this.position = end;
          await this.drain();
        }
      }
    } catch (error) {
      this.deps.gapFailed(this.id, error);
    } finally {
      this.filling = false;
    }
  }
}
