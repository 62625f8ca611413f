// The copy of the outbox to D1 (outbox-store.ts). Right after a send the rows go to the conversation's
// HistoryWriter, which writes many conversations' rows in one D1 batch (src/objects/history/); the
// outbox keeps them until the writer answers that D1 has them. The alarm is the guard for a crash
// before that answer: a send sets it (in its own transaction) COPY_GUARD_MS ahead unless one is due sooner,
// and the copy does not take it back. It lapses instead: it runs once, finds the copy done, saves
// the D1 watermark (which the copies keep in memory) and is not set again until the next send. So
// a conversation that keeps sending writes its alarm and its watermark once per COPY_GUARD_MS, not
// twice per message (a set that must reach the alarm scheduler before the send's commit, then a
// delete), and an idle one costs one alarm run after its last message, then nothing. A crash costs
// at most COPY_GUARD_MS of D1 lag, and rows D1 already had are copied again, which changes nothing
// there. A failure is logged and retried with backoff from the alarm, and new sends do not shorten
// it: a busy conversation must not hammer a failing D1. A batch with a row D1 refused is written to
// D1 directly in pieces next time, so that row cannot hold back the others; any other failure (the
// writer full or unreachable, D1 down) is retried through the writer (docs/RELIABILITY.md). Every
// row goes to the conversation's history shard (history-shard.ts), recorded before the first.
import type { Database } from "../../db/client";
import { withinCopyBytes } from "../history/history-bytes";
import type { HistoryWriter, WriteOutcome } from "../history/history-writer";
import type { Identity, StoredMessage } from "../message";
import { backoff, type AlarmClock } from "./alarm-clock";
import { FLUSH_BATCH_ROWS, writeHistoryBisecting } from "./history-outbox";
import type { OutboxStore } from "./outbox-store";
import { logEvent } from "../../observability/log";
import { withTimeout } from "../../lib/with-timeout";
import { countMetric, Metric } from "../../observability/metrics";

/**
 * When the alarm resumes work a restart may have interrupted (a failed copy's first retry, a group
 * write): long after such work normally ends, soon enough for the D1 lag target after a restart.
 */
export const RESUME_DELAY_MS = 2_000;

/**
 * How long the runtime keeps an object with nothing pending in memory after its last event: it
 * hibernates it then (Cloudflare's Durable Object lifecycle, "currently 10 seconds"; `wrangler dev`
 * does the same), and what the object held only in memory is gone.
 */
export const HIBERNATION_GRACE_MS = 10_000;

/**
 * How far ahead a send sets the alarm that guards its copy, unless one is due sooner: the D1 lag after a
 * crash, at most; and how often a conversation that keeps sending writes its alarm and watermark.
 * Shorter than HIBERNATION_GRACE_MS, so the alarm of a conversation's last message runs while the
 * object still holds the watermarks its copies and fan-out moved in memory, and saves them. At
 * 30 s it ran after the hibernation of every conversation quiet for 10 s, lost them, copied again
 * what D1 had and delivered again what the members had, waking both members' objects (issue 20,
 * docs/PERFORMANCE.md).
 */
export const COPY_GUARD_MS = 8_000;

/** Batches one copy writes before it leaves the rest to the alarm (a send storm cannot hold it). */
const BATCHES_PER_RUN = 20;

/** A writer that has not answered by then is taken as failing: the copy backs off and retries. */
export const WRITER_TIMEOUT_MS = 10_000;

/** The writer did not get the rows into D1; `refusedByD1` when D1 refused one of them. */
class CopyFailed extends Error {
  constructor(
    message: string,
    readonly refusedByD1: boolean,
  ) {
    super(message);
  }
}

export class HistoryFlush {
  /** Flushes that failed in a row. */
  failures = 0;
  /** While D1 writes fail: no flush is armed sooner than this (the backoff holds under traffic). */
  notBefore = 0;
  /** The copy under way, which later sends and the alarm join instead of starting another. */
  private running: Promise<void> | null = null;
  /** The last failure was D1 refusing a row: the retry writes to D1 directly, in pieces. */
  private refusedLastTime = false;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly alarms: AlarmClock,
    /** The history shard's database, read at each flush: a test swaps the object's env for a failing D1. */
    private readonly db: (shard: string) => Database,
    /** Which shard the rows go to: chosen and recorded before the first copy (history-shard.ts). */
    private readonly shard: (id: Identity) => Promise<string>,
    /** The writer that gathers this conversation's rows with others' (src/objects/history/): a new stub each call. */
    private readonly writer: (id: Identity) => Pick<DurableObjectStub<HistoryWriter>, "writeToShard">,
    /** What follows each copy that got everything into D1 (the after_send webhook events). */
    private readonly copied: (id: Identity) => void = () => {},
  ) {}

  /**
   * After a send stored rows: makes sure the alarm is set (in the send's transaction) and starts the
   * copy, which the send does not wait for. While D1 fails, the copy waits for the backoff's alarm
   * instead.
   */
  async afterSend(id: Identity): Promise<void> {
    const now = Date.now();
    if (this.failures > 0 || now < this.notBefore) {
      await this.alarms.arm(Math.max(now + RESUME_DELAY_MS, this.notBefore));
      return;
    }
    // Brought forward over a later alarm (a fan-out or webhook retry's): the guard's run must come
    // before the object may hibernate, whatever else waits.
    await this.alarms.arm(now + COPY_GUARD_MS);
    void this.run(id);
  }

  /**
   * The alarm's part: copies what D1 lacks (after a restart, from the watermark last saved), then
   * saves the watermark the copies moved in memory.
   */
  async resume(id: Identity): Promise<void> {
    await this.run(id);
    if (this.failures === 0) this.outbox.saveWatermark();
  }

  /**
   * Copies what D1 lacks; a call while a copy runs joins it (the copy goes round while the outbox
   * holds rows, so what the caller stored is taken too).
   */
  run(id: Identity): Promise<void> {
    if (this.running) return this.running;
    this.running = this.copy(id).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async copy(id: Identity): Promise<void> {
    try {
      for (let round = 0; ; round++) {
        const batch = withinCopyBytes(this.outbox.batch(FLUSH_BATCH_ROWS, id));
        const shard = batch.length > 0 ? await this.shard(id) : "";
        if (batch.length > 0 && this.refusedLastTime) await this.writeRefused(batch, id, shard);
        else if (batch.length > 0) {
          await this.handOver(batch, id, shard);
          this.outbox.done(batch);
        }
        this.failures = 0;
        this.notBefore = 0;
        this.refusedLastTime = false;
        if (!this.outbox.hasUnflushed()) break;
        if (round + 1 >= BATCHES_PER_RUN) {
          await this.alarms.arm(Date.now());
          return;
        }
      }
      this.copied(id);
    } catch (error) {
      this.failures++;
      this.refusedLastTime = error instanceof CopyFailed && error.refusedByD1;
      const delay = backoff(this.failures);
      this.notBefore = Date.now() + delay;
      countMetric(Metric.historyFailures, 1, this.refusedLastTime ? "refused_by_d1" : "unavailable");
      logEvent(
        "error",
        "history_flush_failed",
        { conversationId: id.conversationId, attempt: this.failures, delayMs: delay },
        error,
      );
      // Exactly then, even if a send during this flush armed a sooner one (its fan-out was kicked
      // directly, and lagging members are kicked by the alarm).
      await this.alarms.setExactly(this.notBefore);
    }
  }

  /** Hands the rows to the writer; throws CopyFailed unless it answers that D1 has them. */
  private async handOver(batch: StoredMessage[], id: Identity, shard: string): Promise<void> {
    try {
      const outcome = await withTimeout<WriteOutcome>(
        this.writer(id).writeToShard(shard, batch),
        WRITER_TIMEOUT_MS,
        () => ({
          ok: false,
          refusedByD1: false,
          error: `no answer in ${WRITER_TIMEOUT_MS} ms`,
        }),
      );
      if (!outcome.ok) throw new CopyFailed(`history writer: ${outcome.error}`, outcome.refusedByD1);
    } catch (error) {
      if (error instanceof CopyFailed) throw error;
      throw new CopyFailed(`history writer unreachable: ${String(error)}`, false);
    }
  }

  /**
   * A batch D1 refused last time, written to D1 directly in pieces (writeHistoryBisecting): rows D1
   * refuses on their own are set aside with a log line, and every other row flows. If nothing goes
   * in, D1 is down or full: this throws, every row stays, and the backoff goes on.
   */
  private async writeRefused(batch: StoredMessage[], id: Identity, shard: string): Promise<void> {
    const outcome = await writeHistoryBisecting(this.db(shard), batch);
    if (!outcome.wroteAny) throw new Error("D1 refused every row of the batch");
    for (const { message, error } of outcome.refused) {
      logEvent(
        "error",
        "history_row_set_aside",
        { conversationId: id.conversationId, seq: message.seq },
        error,
      );
    }
    this.outbox.setAside(outcome.refused);
    this.outbox.done(outcome.settled);
    this.outbox.saveWatermark(); // past the rows set aside: a restart must not offer them to D1 again
    if (outcome.settled.length < batch.length) throw new Error("part of the batch is still unwritten");
  }
}
