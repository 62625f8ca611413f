// User rows in D1 and their JSON shape for the SDK (`IMUser`, http-api.md §3.1).
import { eq, inArray } from "drizzle-orm";
import { users, type UserRow } from "../../schema/tables";
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
