// D1 reads only the admin API makes: a user's open sessions, a user's recent messages for a
// report, and the service's counts. History is read on every shard (src/db/history-shards.ts) and
// merged; users and sessions are in the main database.
import { and, count, desc, eq, gte, isNull, lt, or, sql } from "drizzle-orm";
import { AccountStatus, messages, sessions, users } from "../../schema/tables";
import type { Database } from "./client";
import type { HistoryShard } from "./history-shards";

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

/** Newest first: server time, then id (ids are unique across shards, so the order is total). */
function newestFirst(a: HistoryRow, b: HistoryRow): number {
  if (a.serverTime !== b.serverTime) return b.serverTime - a.serverTime;
  return a.serverMsgId < b.serverMsgId ? 1 : a.serverMsgId > b.serverMsgId ? -1 : 0;
}

/**
 * Messages the user sent, newest first, older than `before` when given, over every history shard:
 * each shard's newest `limit` (by its messages_sender_time index), merged. D1 has them once each
 * conversation's history flush ran (~500 ms).
 */
export async function messagesBySender(
  shards: readonly HistoryShard[],
  senderId: string,
  before: MessageCursor | null,
  limit: number,
): Promise<HistoryRow[]> {
  const pages = await Promise.all(shards.map(({ db }) => messagesBySenderOn(db, senderId, before, limit)));
  return pages.flat().sort(newestFirst).slice(0, limit);
}

async function messagesBySenderOn(
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
  /**
   * Messages the history shards hold with a server time since `since` (by each one's
   * messages_server_time index), summed.
   */
  messagesSince: number;
}

/** The counts: one query to the main database and one to each history shard, at once. */
export async function serviceCounts(
  main: Database,
  shards: readonly HistoryShard[],
  since: number,
): Promise<ServiceCounts> {
  const [userCounts, ...messageCounts] = await Promise.all([
    main
      .select({
        all: count(),
        banned: sql<number>`coalesce(sum(${users.status} = ${AccountStatus.banned}), 0)`,
      })
      .from(users)
      .get(),
    ...shards.map(({ db }) =>
      db.select({ n: count() }).from(messages).where(gte(messages.serverTime, since)).get(),
    ),
  ]);
  return {
    users: userCounts?.all ?? 0,
    bannedUsers: Number(userCounts?.banned ?? 0),
    messagesSince: messageCounts.reduce((sum, row) => sum + (row?.n ?? 0), 0),
  };
}
