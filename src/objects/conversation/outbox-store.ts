// What D1 does not have yet, in the conversation's own SQLite: a watermark (D1 has every message up
// to flushedSeq, so a new message costs no outbox row) and the revoked messages whose new state D1
// must get again (requeue). The copy after each send takes them to D1 (history-flush.ts); messages
// D1 refused on their own while the rows around them went in are set aside for an operator, never
// retried blindly.
import type { Identity, StoredMessage } from "../message";
import { decodeRich } from "../rich-fields";
import type { MessageStore } from "./message-store";
import { migrateMessages, toStored, type MessageRow } from "./message-tables";

export class OutboxStore {
  private readonly sql: SqlStorage;
  private cachedFlushedSeq: number | null = null;
  /** The watermark as stored: the copies move it in memory, the alarm's run saves it (history-flush.ts). */
  private savedFlushedSeq: number | null = null;
  /**
   * Rows in requeue as last read (null: read it again). Almost always 0, and then a copy reads the
   * new messages from the message store's memory and asks SQLite nothing: the statement per copy
   * was ~6% of the worker's CPU in the sparse benchmark's profile.
   */
  private cachedRequeued: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly messages: MessageStore,
  ) {
    this.sql = storage.sql;
    migrateMessages(this.sql);
  }

  /** D1 has every message up to this seq (revoked ones in requeue excepted). */
  private flushedSeq(): number {
    if (this.cachedFlushedSeq === null) {
      this.cachedFlushedSeq = Number(
        this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'flushedSeq'").toArray()[0]
          ?.value ?? 0,
      );
      this.savedFlushedSeq = this.cachedFlushedSeq;
    }
    return this.cachedFlushedSeq;
  }

  /**
   * Stores the watermark the copies moved. Until then a restart copies from the one stored before,
   * sending D1 rows it has, which changes nothing there (history-outbox.ts).
   */
  saveWatermark(): void {
    const upTo = this.flushedSeq();
    if (upTo <= (this.savedFlushedSeq ?? 0)) return;
    this.sql.exec("UPDATE meta SET value = ? WHERE key = 'flushedSeq'", String(upTo));
    this.savedFlushedSeq = upTo;
  }

  /**
   * Rows in requeue. Only a 0 is taken from memory: any other count is read again, so a count left
   * too high by a revoke whose transaction rolled back corrects itself at the next copy.
   */
  private requeued(): number {
    if (this.cachedRequeued !== 0)
      this.cachedRequeued = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM requeue").one().n;
    return this.cachedRequeued;
  }

  /** The oldest messages D1 lacks: revoked ones to copy again, then those past the watermark. */
  batch(limit: number, id: Identity): StoredMessage[] {
    const flushed = this.flushedSeq();
    // Nothing revoked waits: the new messages, from memory when they are recent.
    if (this.requeued() === 0) return this.messages.range(flushed + 1, this.messages.maxSeq(), limit, id);
    return this.sql
      .exec<MessageRow>(
        `SELECT * FROM messages WHERE seq IN (SELECT seq FROM requeue WHERE seq <= ?)
         UNION ALL
         SELECT * FROM messages WHERE seq > ?
         ORDER BY seq LIMIT ?`,
        flushed,
        flushed,
        limit,
      )
      .toArray()
      .map((row) => toStored(row, id));
  }

  /** D1 has every message up to this seq (a revoked one may wait in requeue for its new state). */
  copiedUpTo(): number {
    return this.flushedSeq();
  }

  /** Whether D1 lacks anything. */
  hasUnflushed(): boolean {
    return this.messages.maxSeq() > this.flushedSeq() || this.requeued() > 0;
  }

  /** The seqs D1 lacks, in order (tests and diagnostics). */
  unflushedSeqs(): number[] {
    const flushed = this.flushedSeq();
    return this.sql
      .exec<{ seq: number }>(
        "SELECT seq FROM requeue WHERE seq <= ? UNION SELECT seq FROM messages WHERE seq > ? ORDER BY seq",
        flushed,
        flushed,
      )
      .toArray()
      .map((r) => r.seq);
  }

  /** Queues a revoked or edited message for D1 again (in the transaction that changed it). */
  requeue(seq: number): void {
    this.sql.exec("INSERT OR IGNORE INTO requeue (seq) VALUES (?)", seq);
    this.cachedRequeued = null; // read again before it is trusted
  }

  /** Records messages D1 refused while others went in; `done` then counts them as flushed. */
  setAside(refused: readonly { message: StoredMessage; error: string }[]): void {
    const now = Date.now();
    for (const { message, error } of refused) {
      this.sql.exec(
        "INSERT INTO set_aside (seq, error, at) VALUES (?, ?, ?) ON CONFLICT (seq) DO UPDATE SET error = excluded.error, at = excluded.at",
        message.seq,
        error.slice(0, 500),
        now,
      );
    }
  }

  /** The messages D1 refused, with why (tests and operators). */
  setAsideSeqs(): { seq: number; error: string }[] {
    return this.sql
      .exec<{ seq: number; error: string }>("SELECT seq, error FROM set_aside ORDER BY seq")
      .toArray();
  }

  /**
   * Records that D1 has a flushed batch: the watermark moves past its new messages, and its
   * revoked and edited ones leave requeue. A message revoked or changed while its flush was in
   * flight stays queued (its change number is no longer the copy's): D1 got the copy from before,
   * and the next flush overwrites it.
   */
  done(flushed: readonly StoredMessage[]): void {
    const upTo = Math.max(this.flushedSeq(), ...flushed.map((m) => m.seq));
    // Only a revoked or rich message can be in requeue: a plain new one costs no statement here.
    const maybeQueued = flushed.filter((m) => m.isRevoked || m.ext !== undefined);
    if (maybeQueued.length > 0)
      this.storage.transactionSync(() => {
        for (const m of maybeQueued)
          this.sql.exec(
            "DELETE FROM requeue WHERE seq = ? AND (SELECT mod_seq FROM messages WHERE seq = ?) = ?",
            m.seq,
            m.seq,
            decodeRich(m.ext).modSeq ?? 0,
          );
      });
    this.cachedFlushedSeq = upTo;
  }
}
