// HistoryWriter: gathers the history copies of many conversations into one D1 batch. Each
// conversation used to write its own batch to D1 after each burst of sends, so when conversations
// are quiet every message cost a D1 round trip of its own (issue 20: two thirds of the server's CPU
// per message in the sparse benchmark). A conversation now hands its rows to the writer its id hashes
// to; the writer waits WRITE_WINDOW_MS for other conversations' rows and writes them all in one
// batch, then answers every caller. It keeps nothing: a caller's rows stay in that conversation's
// outbox until the writer answers that they are in D1, so a writer that fails, restarts or is never
// reached loses nothing (the conversation retries with its backoff, docs/RELIABILITY.md).
import { DurableObject } from "cloudflare:workers";
import { database } from "../../db/client";
import { meterInvocations } from "../../lib/usage-meter";
import { FLUSH_BATCH_ROWS, writeHistory } from "../conversation/history-outbox";
import type { StoredMessage } from "../message";

/**
 * How long the writer waits for more conversations' rows before it writes. It adds that much to the
 * D1 lag (well under the 2 s target) and turns one D1 call per quiet conversation's message into
 * one per window for all of them.
 */
export const WRITE_WINDOW_MS = 200;

/** Bytes of rows that make the writer write at once, and beyond which a caller is refused (it retries). */
export const WRITE_NOW_BYTES = 4 * 1024 * 1024;
export const MAX_WAITING_BYTES = 32 * 1024 * 1024;

/** A row's weight in memory, roughly: its content and extras plus its fixed fields. */
function rowBytes(m: StoredMessage): number {
  return 256 + m.content.byteLength + m.extra.length + m.attachedInfo.length;
}

interface Waiting {
  rows: readonly StoredMessage[];
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

export class HistoryWriter extends DurableObject<Env> {
  private waiting: Waiting[] = [];
  private waitingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** Resolves once `rows` are in D1 (written with other conversations' rows); rejects if they are not. */
  write(rows: readonly StoredMessage[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const bytes = rows.reduce((sum, m) => sum + rowBytes(m), 0);
    if (this.waitingBytes + bytes > MAX_WAITING_BYTES) {
      return Promise.reject(new Error("history writer is full; the conversation retries"));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, bytes, resolve, reject });
      this.waitingBytes += bytes;
      if (this.waitingRows() >= FLUSH_BATCH_ROWS || this.waitingBytes >= WRITE_NOW_BYTES) this.writeNow();
      else this.timer ??= setTimeout(() => this.writeNow(), WRITE_WINDOW_MS);
    });
  }

  private waitingRows(): number {
    return this.waiting.reduce((sum, w) => sum + w.rows.length, 0);
  }

  /** Writes everything waiting; later calls wait for the next window. */
  private writeNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const callers = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    void this.writeAll(callers);
  }

  private async writeAll(callers: Waiting[]): Promise<void> {
    const db = database(this.env);
    try {
      await writeHistory(
        db,
        callers.flatMap((c) => c.rows),
      );
      for (const caller of callers) caller.resolve();
    } catch {
      // One batch is one transaction: a row D1 refuses fails everyone's. Each caller's rows are
      // tried on their own, so only the conversation that holds such a row sees the error (and
      // finds the row with its own retry).
      await Promise.all(
        callers.map(async (caller) => {
          try {
            await writeHistory(db, caller.rows);
            caller.resolve();
          } catch (error) {
            caller.reject(error);
          }
        }),
      );
    }
  }
}

meterInvocations(HistoryWriter, "history", { write: true });
