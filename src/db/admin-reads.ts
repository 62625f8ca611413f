// D1 reads only the admin API makes: a user's open sessions, a user's recent messages for a
// report, and the service's counts.
import { and, count, desc, eq, gte, isNull, lt, or, sql } from "drizzle-orm";
import { AccountStatus, messages, sessions, users } from "../../schema/tables";
import type { Database } from "./client";

export type HistoryRow = typeof messages.$inferSelect;

/** Sessions of the user not ended by logout, password change or an admin. */
export async function openSessionCount(db: Database, userId: string): Promise<number> {
  const row = await db
    .select({ n: count() })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .get();
  return row?.n ?? 0;
}

/** Where a page of a user's messages ends: the last row's server time and id. */
export interface MessageCursor {
  serverTime: number;
  serverMsgId: string;
}

/**
 * Messages the user sent, newest first, older than `before` when given (by the
 * messages_sender_time index). D1 has them once each conversation's history flush ran (~500 ms).
 */
export async function messagesBySender(
  db: Database,
  senderId: string,
  before: MessageCursor | null,
  limit: number,
): Promise<HistoryRow[]> {
  const older =
    before === null
      ? undefined
      : or(
          lt(messages.serverTime, before.serverTime),
          and(eq(messages.serverTime, before.serverTime), lt(messages.serverMsgId, before.serverMsgId)),
        );
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.senderId, senderId), older))
    .orderBy(desc(messages.serverTime), desc(messages.serverMsgId))
    .limit(limit)
    .all();
}

export interface ServiceCounts {
  users: number;
  bannedUsers: number;
  /** Messages D1 holds with a server time since `since` (by the messages_server_time index). */
  messagesSince: number;
}

/** The counts, in one batch (one round trip to D1). */
export async function serviceCounts(db: Database, since: number): Promise<ServiceCounts> {
  const [userCounts, messageCount] = await db.batch([
    db
      .select({
        all: count(),
        banned: sql<number>`coalesce(sum(${users.status} = ${AccountStatus.banned}), 0)`,
      })
      .from(users),
    db.select({ n: count() }).from(messages).where(gte(messages.serverTime, since)),
  ]);
  return {
    users: userCounts[0]?.all ?? 0,
    bannedUsers: Number(userCounts[0]?.banned ?? 0),
    messagesSince: messageCount[0]?.n ?? 0,
  };
}
