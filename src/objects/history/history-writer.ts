// HistoryWriter: gathers the history copies of many conversations into one D1 batch. Each
// conversation used to write its own batch to D1 after each burst of sends, so when conversations
// are quiet every message cost a D1 round trip of its own (issue 20). A conversation now hands its
// rows to the writer its id hashes to; the writer waits WRITE_WINDOW_MS for other conversations'
// rows and writes them all in one batch, then answers every caller. It keeps nothing: a caller's rows
// stay in that conversation's outbox until the writer answers that they are in D1, so a writer that
// fails, restarts or is never reached loses nothing (the conversation retries with its backoff,
// docs/RELIABILITY.md). One batch at a time: D1 runs one query at a time anyway, and a second batch
// in flight would only hold more rows in memory.
import { DurableObject } from "cloudflare:workers";
import { database } from "../../db/client";
import { meterInvocations } from "../../lib/usage-meter";
import { FLUSH_BATCH_ROWS, writeHistory } from "../conversation/history-outbox";
import type { StoredMessage } from "../message";
import { historyBytes, MAX_COPY_BYTES } from "./history-bytes";
import { countMetric, Metric, useMetrics } from "../../observability/metrics";

/**
 * How long the writer waits for more conversations' rows before it writes. It adds that much to the
 * D1 lag (well under the 2 s target) and turns one D1 call per quiet conversation's message into
 * one per window for all of them.
 */
export const WRITE_WINDOW_MS = 200;

/** Rows held (waiting and being written) beyond which a caller is turned away; it retries later. */
export const MAX_HELD_BYTES = 8 * MAX_COPY_BYTES;

/**
 * What a call comes to: written; refused by D1 (a row of this call's that D1 will not take, which the
 * conversation finds by writing in pieces); or not written for another reason (the writer is full,
 * D1 is down), which the conversation retries here after its backoff.
 */
export type WriteOutcome = { ok: true } | { ok: false; refusedByD1: boolean; error: string };

interface Waiting {
  rows: readonly StoredMessage[];
  bytes: number;
  answer(outcome: WriteOutcome): void;
}

export class HistoryWriter extends DurableObject<Env> {
  private waiting: Waiting[] = [];
  private waitingRows = 0;
  private waitingBytes = 0;
  /** Bytes of rows waiting and being written. */
  private heldBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    useMetrics(env);
  }

  /** Answers once `rows` are in D1 (written with other conversations' rows), or why they are not. */
  write(rows: readonly StoredMessage[]): Promise<WriteOutcome> {
    if (rows.length === 0) return Promise.resolve({ ok: true });
    const bytes = historyBytes(rows);
    // Always room for one caller, however large its rows; beyond the bound, the caller backs off.
    if (this.heldBytes > 0 && this.heldBytes + bytes > MAX_HELD_BYTES) {
      return Promise.resolve({ ok: false, refusedByD1: false, error: "history writer is full" });
    }
    return new Promise<WriteOutcome>((answer) => {
      this.waiting.push({ rows, bytes, answer });
      this.waitingRows += rows.length;
      this.waitingBytes += bytes;
      this.heldBytes += bytes;
      this.schedule();
    });
  }

  /** The next batch: at once when one is full, after the window otherwise, never two at a time. */
  private schedule(): void {
    if (this.writing || this.waiting.length === 0) return;
    const full = this.waitingRows >= FLUSH_BATCH_ROWS || this.waitingBytes >= MAX_COPY_BYTES;
    if (full) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.writeWaiting();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        void this.writeWaiting();
      }, WRITE_WINDOW_MS);
    }
  }

  private async writeWaiting(): Promise<void> {
    const callers = this.waiting;
    this.waiting = [];
    this.waitingRows = 0;
    this.waitingBytes = 0;
    this.writing = true;
    try {
      await this.writeAll(callers);
    } finally {
      for (const caller of callers) this.heldBytes -= caller.bytes;
      this.writing = false;
      this.schedule();
    }
  }

  private async writeAll(callers: Waiting[]): Promise<void> {
    const db = database(this.env);
    try {
      await writeHistory(
        db,
        callers.flatMap((c) => c.rows),
      );
      for (const caller of callers) caller.answer({ ok: true });
      recordWritten(callers.flatMap((c) => c.rows));
      return;
    } catch (error) {
      if (callers.length === 1) {
        callers[0]?.answer({ ok: false, refusedByD1: true, error: String(error) });
        return;
      }
    }
    // One batch is one transaction: a row D1 refuses fails everyone's. Each caller's rows are tried
    // on their own, one after the other, so only the conversation that holds such a row is told D1
    // refused it (it finds the row by writing in pieces). If none goes in, D1 itself is failing:
    // every caller is told to retry here after its backoff, not to write in pieces.
    const failed: { caller: Waiting; error: string }[] = [];
    for (const caller of callers) {
      try {
        await writeHistory(db, caller.rows);
        caller.answer({ ok: true });
        recordWritten(caller.rows);
      } catch (error) {
        failed.push({ caller, error: String(error) });
      }
    }
    const d1Answering = failed.length < callers.length;
    for (const { caller, error } of failed) caller.answer({ ok: false, refusedByD1: d1Answering, error });
  }
}

/** Rows now in D1, and how long the oldest waited since it was stored (the D1 lag). */
function recordWritten(rows: readonly StoredMessage[]): void {
  const now = Date.now();
  let oldest = now;
  for (const m of rows) if (m.serverTime < oldest) oldest = m.serverTime;
  countMetric(Metric.historyWritten, rows.length);
  countMetric(Metric.historyLag, rows.length, "", now - oldest);
}

meterInvocations(HistoryWriter, "history", { write: true });
