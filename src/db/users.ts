// User rows in D1 and their JSON shape for the SDK (`IMUser`, http-api.md §3.1).
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { AccountStatus, users, type UserRow } from "../../schema/tables";
import type { UserJson } from "../protocol/http-shapes";
import type { Database } from "./client";
import { chunked, IDS_PER_STATEMENT } from "./limits";

export type { UserJson };

export function toUserJson(row: UserRow): UserJson {
  return {
    userID: row.id,
    nickname: row.nickname,
    avatar: row.avatar,
    phone: row.phone,
    email: row.email,
    gender: row.gender,
    birth: row.birth,
    signature: row.signature,
    extra: row.extra,
    createTime: row.createdAt,
    updateTime: row.updatedAt,
  };
}

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export async function findUserByUsername(db: Database, username: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.username, username)).get();
}

export async function findUsersByIds(db: Database, ids: readonly string[]): Promise<UserRow[]> {
  const pages = await Promise.all(
    chunked(ids, IDS_PER_STATEMENT).map((page) =>
      db.select().from(users).where(inArray(users.id, page)).all(),
    ),
  );
  return pages.flat();
}

/** Whether the id names an active (not disabled or deleted) user. */
export async function setPasswordHash(db: Database, id: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash, updatedAt: Date.now() }).where(eq(users.id, id));
}

/** Which of these ids belong to active users. */
export async function existingUserIds(db: Database, ids: readonly string[]): Promise<Set<string>> {
  const pages = await Promise.all(
    chunked(ids, IDS_PER_STATEMENT).map((page) =>
      db.select({ id: users.id, status: users.status }).from(users).where(inArray(users.id, page)).all(),
    ),
  );
  return new Set(
    pages
      .flat()
      .filter((r) => r.status === 0)
      .map((r) => r.id),
  );
}

/** Sets an account's status (the admin API's ban and unban); false when there is no such user. */
export async function setAccountStatus(db: Database, id: string, status: AccountStatus): Promise<boolean> {
  const updated = await db
    .update(users)
    .set({ status, updatedAt: Date.now() })
    .where(eq(users.id, id))
    .returning({ id: users.id });
  return updated.length > 0;
}

/** Active users after `afterId` in id order, at most `limit`: the admin broadcast's pages. */
export async function activeUserIdsAfter(db: Database, afterId: string, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(gt(users.id, afterId), eq(users.status, AccountStatus.active)))
    .orderBy(asc(users.id))
    .limit(limit)
    .all();
  return rows.map((r) => r.id);
}
