// The alarm's copy of the outbox to D1 (outbox-store.ts, written by history-outbox.ts). A failure is
// logged and retried with backoff, and new sends do not shorten it: a busy conversation must not
// hammer a failing D1. A batch D1 refused last time is written in pieces, so one row D1 refuses on
// its own cannot hold back the others (docs/RELIABILITY.md).
import type { Database } from "../../db/client";
import type { Identity, StoredMessage } from "../message";
import { backoff, type AlarmClock } from "./alarm-clock";
import { FLUSH_BATCH_ROWS, writeHistory, writeHistoryBisecting } from "./history-outbox";
import type { OutboxStore } from "./outbox-store";

/**
 * Delay before the first D1 flush after a send: long enough to batch a burst into one D1 batch (each
 * flush is a D1 round trip; at 100 ms a busy conversation flushed ten times a second), short enough
 * for a D1 lag well under its 2 s target.
 */
const FLUSH_DELAY_MS = 500;

export class HistoryFlush {
  /** Flushes that failed in a row. */
  failures = 0;
  /** While D1 writes fail: no flush is armed sooner than this (the backoff holds under traffic). */
  notBefore = 0;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly alarms: AlarmClock,
    /** Read at each flush: a test swaps the object's env for a failing D1. */
    private readonly db: () => Database,
  ) {}

  /** Arms the flush FLUSH_DELAY_MS from now, but not inside the backoff of a failing D1. */
  arm(): Promise<void> {
    return this.alarms.arm(Math.max(Date.now() + FLUSH_DELAY_MS, this.notBefore));
  }

  /** Copies the oldest batch D1 lacks; re-arms at once while more remain, or after the backoff. */
  async run(id: Identity): Promise<void> {
    try {
      const batch = this.outbox.batch(FLUSH_BATCH_ROWS, id);
      if (batch.length > 0 && this.failures === 0) {
        await writeHistory(this.db(), batch);
        this.outbox.done(batch);
      } else if (batch.length > 0) await this.writeRefused(batch, id);
      this.failures = 0;
      this.notBefore = 0;
      if (this.outbox.hasUnflushed()) await this.alarms.arm(Date.now());
    } catch (error) {
      this.failures++;
      const delay = backoff(this.failures);
      this.notBefore = Date.now() + delay;
      console.error(
        `history flush of ${id.conversationId} failed (${this.failures}); retry in ${delay} ms`,
        error,
      );
      // Exactly then, even if a send during this flush armed a sooner one (its fan-out was kicked
      // directly, and lagging members are kicked by the alarm).
      await this.alarms.setExactly(this.notBefore);
    }
  }

  /**
   * A batch D1 refused last time, written in pieces (writeHistoryBisecting): rows D1 refuses on
   * their own are set aside with a log line, and every other row flows. If nothing goes in, D1 is
   * down or full: this throws, every row stays, and the backoff goes on.
   */
  private async writeRefused(batch: StoredMessage[], id: Identity): Promise<void> {
    const outcome = await writeHistoryBisecting(this.db(), batch);
    if (!outcome.wroteAny) throw new Error("D1 refused every row of the batch");
    for (const { message, error } of outcome.refused) {
      console.error(
        JSON.stringify({
          event: "history_row_set_aside",
          conversationId: id.conversationId,
          seq: message.seq,
          error: error.slice(0, 300),
        }),
      );
    }
    this.outbox.setAside(outcome.refused);
    this.outbox.done(outcome.settled);
    if (outcome.settled.length < batch.length) throw new Error("part of the batch is still unwritten");
  }
}
