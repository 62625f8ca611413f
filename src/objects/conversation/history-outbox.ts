// Copies the outbox to D1's history table. Rows go in multi-row INSERT … ON CONFLICT statements,
// chunked under D1's bound-parameter limit and sent as one batch (one round trip, one implicit
// transaction). A repeat after a crash inserts nothing twice; on a conflict only the fields a
// revoke changes are rewritten, so a revoked message's row loses its content in D1 too.
import { getTableColumns, sql } from "drizzle-orm";
import { conversations, messages } from "../../../schema/tables";
import type { Database } from "../../db/client";
import { MAX_BOUND_PARAMS } from "../../db/limits";
import type { StoredMessage } from "../message";

export const ROWS_PER_STATEMENT = Math.floor(
  MAX_BOUND_PARAMS / Object.keys(getTableColumns(messages)).length,
);

/** Rows flushed per alarm run; the alarm re-arms itself while more remain. */
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
  };
}

const revokeFields = {
  content: sql`excluded.content`,
  isRevoked: sql`excluded.is_revoked`,
  revokedBy: sql`excluded.revoked_by`,
  revokedTime: sql`excluded.revoked_time`,
};

export async function writeHistory(db: Database, batch: readonly StoredMessage[]): Promise<void> {
  const statements = [];
  for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
    const rows = batch.slice(i, i + ROWS_PER_STATEMENT).map(toRow);
    statements.push(
      db
        .insert(messages)
        .values(rows)
        .onConflictDoUpdate({ target: [messages.conversationId, messages.seq], set: revokeFields }),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
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
