// Copies the outbox to D1's history table. Rows go in multi-row INSERT … ON CONFLICT statements,
// chunked under D1's bound-parameter limit and sent as one batch (one round trip, one implicit
// transaction). A repeat after a crash inserts nothing twice. On a conflict only a revoked copy, or a
// later edit's (rich messages, its edit_count higher), rewrites the row (the fields a revoke or an
// edit changes), so a revoked message loses its content in D1 too, and a late copy from before the
// revoke or the edit (a batch that was still on its way) can never bring the old content back.
import { getTableColumns, sql } from "drizzle-orm";
import { conversations, messages } from "../../../schema/tables";
import type { Database } from "../../db/client";
import { MAX_BOUND_PARAMS } from "../../db/limits";
import type { StoredMessage } from "../message";
import { decodeRich } from "../rich-fields";

export const ROWS_PER_STATEMENT = Math.floor(
  MAX_BOUND_PARAMS / Object.keys(getTableColumns(messages)).length,
);

/** Most rows one copy hands over at a time (history-flush.ts), bytes permitting (history-bytes.ts). */
export const FLUSH_BATCH_ROWS = 700;

function toRow(m: StoredMessage): typeof messages.$inferInsert {
  return {
    conversationId: m.conversationId,
    seq: m.seq,
    serverMsgId: m.serverMsgId,
    clientMsgId: m.clientMsgId,
    senderId: m.senderId,
    receiverId: m.receiverId,
    groupId: m.groupId,
    conversationType: m.conversationType,
    messageType: m.messageType,
    content: m.content,
    sendTime: m.sendTime,
    serverTime: m.serverTime,
    extra: m.extra,
    attachedInfo: m.attachedInfo,
    isRevoked: m.isRevoked,
    revokedBy: m.revokedBy,
    revokedTime: m.revokedTime,
    // Only a rich message has any (a plain one is not decoded).
    editCount: m.ext ? (decodeRich(m.ext).editCount ?? 0) : 0,
  };
}

const revokeFields = {
  content: sql`excluded.content`,
  isRevoked: sql`excluded.is_revoked`,
  revokedBy: sql`excluded.revoked_by`,
  revokedTime: sql`excluded.revoked_time`,
  editCount: sql`excluded.edit_count`,
};

/** The columns in the order drizzle lists them in an INSERT of full rows. */
const COLUMNS = Object.entries(getTableColumns(messages)) as [
  keyof typeof messages.$inferInsert,
  { mapToDriverValue(value: unknown): unknown },
][];

/**
 * The statement text for `rows` rows, built by drizzle from the schema the first time a batch
 * has that many rows and kept: building it per flush cost more CPU than the flush's own work.
 */
const statementText = new Map<number, string>();

function statement(db: Database, rows: (typeof messages.$inferInsert)[]): D1PreparedStatement {
  let text = statementText.get(rows.length);
  if (text === undefined) {
    text = db
      .insert(messages)
      .values(rows)
      .onConflictDoUpdate({
        target: [messages.conversationId, messages.seq],
        set: revokeFields,
        // A later edit's content goes in too; a revoked row never takes content back, nor an
        // edited one an earlier version's.
        setWhere: sql`excluded.is_revoked = 1 OR (${messages.isRevoked} = 0 AND excluded.edit_count > ${messages.editCount})`,
      })
      .toSQL().sql;
    statementText.set(rows.length, text);
  }
  const params = rows.flatMap((row) => COLUMNS.map(([key, column]) => column.mapToDriverValue(row[key])));
  return db.$client.prepare(text).bind(...params);
}

export async function writeHistory(db: Database, batch: readonly StoredMessage[]): Promise<void> {
  const statements = [];
  for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
    statements.push(statement(db, batch.slice(i, i + ROWS_PER_STATEMENT).map(toRow)));
  }
  if (statements.length > 0) await db.$client.batch(statements);
}

/** Registers a one-to-one conversation in D1 (idempotent). */
export async function registerSingleConversation(
  db: Database,
  conversationId: string,
  members: readonly [string, string],
): Promise<void> {
  await db
    .insert(conversations)
    .values({ id: conversationId, type: 1, memberA: members[0], memberB: members[1] })
    .onConflictDoNothing();
}

/** D1 calls one retry may spend finding the rows D1 refuses in a batch it refused. */
export const BISECT_CALLS = 24;

export interface BisectOutcome {
  /** The leading rows settled: written, or refused while others went in. */
  settled: StoredMessage[];
  refused: { message: StoredMessage; error: string }[];
  /** Whether any row went in: if none did, D1 itself is failing (down, full), not a row. */
  wroteAny: boolean;
}

/**
 * Writes a batch D1 refused before, in halves and down to single rows, left to right, so one row
 * D1 refuses cannot hold back the others. A row is set aside only when it failed alone and a later
 * piece of the same retry then went in: D1 was answering, so the row is the problem. A row that
 * failed with nothing going in after it (D1 failing, or going down mid-retry) stays in the outbox.
 * Stops after BISECT_CALLS calls; only the leading rows that were settled count, as the outbox is a
 * watermark.
 */
export async function writeHistoryBisecting(
  db: Database,
  batch: readonly StoredMessage[],
): Promise<BisectOutcome> {
  let calls = 0;
  let lastSuccess = -1;
  const written = new Set<number>();
  const alone: { message: StoredMessage; error: string; call: number }[] = [];
  const attempt = async (rows: readonly StoredMessage[]): Promise<boolean> => {
    if (calls >= BISECT_CALLS) return false;
    const call = calls++;
    try {
      await writeHistory(db, rows);
      lastSuccess = call;
      for (const row of rows) written.add(row.seq);
      return true;
    } catch (error) {
      const [only] = rows;
      if (only && rows.length === 1) {
        alone.push({ message: only, error: String(error), call });
        return true;
      }
      const half = Math.ceil(rows.length / 2);
      return (await attempt(rows.slice(0, half))) && (await attempt(rows.slice(half)));
    }
  };
  await attempt(batch);
  if (lastSuccess < 0) return { settled: [], refused: [], wroteAny: false };
  const refused = alone.filter((r) => r.call < lastSuccess);
  const refusedSeqs = new Set(refused.map((r) => r.message.seq));
  let n = 0;
  for (const m of batch) {
    if (!written.has(m.seq) && !refusedSeqs.has(m.seq)) break;
    n++;
  }
  const settled = batch.slice(0, n);
  const lastSettled = settled[settled.length - 1]?.seq ?? 0;
  return {
    settled,
    refused: refused
      .filter((r) => r.message.seq <= lastSettled)
      .map(({ message, error }) => ({ message, error })),
    wroteAny: true,
  };
}
