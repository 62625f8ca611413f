// User rows in D1 and their JSON shape for the SDK (`IMUser`, http-api.md §3.1).
import { eq, inArray } from "drizzle-orm";
import { users, type UserRow } from "../../schema/tables";
import type { UserJson } from "../protocol/http-shapes";
import type { Database } from "./client";

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
  if (ids.length === 0) return [];
  return db
    .select()
    .from(users)
    .where(inArray(users.id, [...ids]))
    .all();
}

/** Whether the id names an active (not disabled or deleted) user. */
export async function isActiveUser(db: Database, id: string): Promise<boolean> {
  const row = await db.select({ status: users.status }).from(users).where(eq(users.id, id)).get();
  return row?.status === 0;
}

/** Which of these ids belong to active users. */
export async function existingUserIds(db: Database, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: users.id, status: users.status })
    .from(users)
    .where(inArray(users.id, [...ids]))
    .all();
  return new Set(rows.filter((r) => r.status === 0).map((r) => r.id));
}
