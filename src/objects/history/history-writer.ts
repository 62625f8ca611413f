// HistoryWriter: gathers the history copies of many conversations into one D1 batch. Each
// conversation used to write its own batch to D1 after each burst of sends, so when conversations
// are quiet every message cost a D1 round trip of its own (issue 20). A conversation now hands its
// rows to the writer its id hashes to; the writer waits WRITE_WINDOW_MS for other conversations'
// rows and writes them all in one batch, then answers every caller. It keeps nothing: a caller's rows
// stay in that conversation's outbox until the writer answers that they are in D1, so a writer that
// fails, restarts or is never reached loses nothing (the conversation retries with its backoff,
// docs/RELIABILITY.md). Rows carry their history shard (src/db/history-shards.ts): each shard has
// its own lane here, one batch at a time per shard (a D1 database runs one query at a time anyway,
// and a second batch in flight would only hold more rows in memory), so a failing or slow shard
// never fails or delays the callers of another.
import { DurableObject } from "cloudflare:workers";
import { MAIN_DATABASE, readSettings } from "../../config/settings";
import { shardDatabase } from "../../db/history-shards";
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

/**
 * Rows one shard's lane holds (waiting and being written) beyond which a caller is turned away; it
 * retries later. A shard that stops answering fills only its own lane.
 */
export const MAX_HELD_BYTES = 8 * MAX_COPY_BYTES;

/** Rows all lanes together may hold: room for the others while one shard's lane is full. */
export const MAX_HELD_BYTES_ALL = 2 * MAX_HELD_BYTES;

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

/** One shard's callers: those waiting for its next batch, and whether one is being written. */
interface Lane {
  waiting: Waiting[];
  rows: number;
  bytes: number;
  timer: ReturnType<typeof setTimeout> | null;
  writing: boolean;
  /** Bytes of rows waiting and being written in this lane. */
  held: number;
}

export class HistoryWriter extends DurableObject<Env> {
  /** One per shard with callers waiting or a batch under way; dropped when idle. */
  private readonly lanes = new Map<string, Lane>();
  /** Bytes of rows waiting and being written, every shard together. */
  private heldBytes = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    useMetrics(env);
  }

  /**
   * From a conversation of the code before shards (during a deploy, old and new versions run side by
   * side for a while): it names no shard, and its history is in DB.
   */
  write(rows: readonly StoredMessage[]): Promise<WriteOutcome> {
    return this.writeToShard(MAIN_DATABASE, rows);
  }

  /**
   * Answers once `rows` are in `shard`'s D1 (written with other conversations' rows), or why they
   * are not. A method of its own, the shard required, rather than a second argument to `write`: a
   * writer still on the code before shards has no such method, so the call fails and the rows stay
   * in the conversation's outbox, where an old writer would have put them in DB and answered ok.
   */
  writeToShard(shard: string, rows: readonly StoredMessage[]): Promise<WriteOutcome> {
    if (rows.length === 0) return Promise.resolve({ ok: true });
    if (!readSettings(this.env).historyShards.all.includes(shard)) {
      // A conversation with settings from another version: never write where readers do not look.
      return Promise.resolve({ ok: false, refusedByD1: false, error: `${shard} is not in HISTORY_SHARDS` });
    }
    const bytes = historyBytes(rows);
    const lane = this.lanes.get(shard) ?? {
      waiting: [],
      rows: 0,
      bytes: 0,
      timer: null,
      writing: false,
      held: 0,
    };
    // Always room for one caller of a lane, however large its rows; beyond the bounds, the caller
    // backs off.
    const laneFull = lane.held > 0 && lane.held + bytes > MAX_HELD_BYTES;
    const writerFull = lane.held > 0 && this.heldBytes + bytes > MAX_HELD_BYTES_ALL;
    if (laneFull || writerFull) {
      return Promise.resolve({ ok: false, refusedByD1: false, error: "history writer is full" });
    }
    this.lanes.set(shard, lane);
    const into = lane;
    return new Promise<WriteOutcome>((answer) => {
      into.waiting.push({ rows, bytes, answer });
      into.rows += rows.length;
      into.bytes += bytes;
      into.held += bytes;
      this.heldBytes += bytes;
      this.schedule(shard, into);
    });
  }

  /** A shard's next batch: at once when one is full, after the window otherwise, never two at a time. */
  private schedule(shard: string, lane: Lane): void {
    if (lane.writing) return;
    if (lane.waiting.length === 0) {
      this.lanes.delete(shard);
      return;
    }
    const full = lane.rows >= FLUSH_BATCH_ROWS || lane.bytes >= MAX_COPY_BYTES;
    if (full) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      void this.writeWaiting(shard, lane);
    } else {
      lane.timer ??= setTimeout(() => {
        lane.timer = null;
        void this.writeWaiting(shard, lane);
      }, WRITE_WINDOW_MS);
    }
  }

  private async writeWaiting(shard: string, lane: Lane): Promise<void> {
    const callers = lane.waiting;
    lane.waiting = [];
    lane.rows = 0;
    lane.bytes = 0;
    lane.writing = true;
    try {
      await this.writeAll(shard, callers);
    } finally {
      for (const caller of callers) {
        this.heldBytes -= caller.bytes;
        lane.held -= caller.bytes;
      }
      lane.writing = false;
      this.schedule(shard, lane);
    }
  }

  private async writeAll(shard: string, callers: Waiting[]): Promise<void> {
    let db;
    try {
      db = shardDatabase(this.env, shard);
    } catch (error) {
      // No such D1 binding: nothing to write to; the conversations retry after their backoff.
      for (const caller of callers) caller.answer({ ok: false, refusedByD1: false, error: String(error) });
      return;
    }
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

meterInvocations(HistoryWriter, "history", { write: true, writeToShard: true });
