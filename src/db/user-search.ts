// User search by index, never a table scan: an exact id, a username prefix (usernames are stored
// lower-case, so a range on the unique index), or a case-insensitive nickname prefix (a range on
// the lower(nickname) index).
import { sql } from "drizzle-orm";
import type { UserRow } from "../../schema/tables";
import type { Database } from "./client";

/** Above every character: closes the prefix range in SQLite's byte-wise string order. */
const MAX_CHAR = "\u{10FFFF}";

interface RawUser {
  id: string;
  username: string;
  nickname: string;
  password_hash: string;
  avatar: string;
  phone: string;
  email: string;
  gender: number;
  birth: number;
  signature: string;
  extra: string;
  status: number;
  created_at: number;
  updated_at: number;
}

export async function searchUsers(
  db: Database,
  keyword: string,
  offset: number,
  limit: number,
): Promise<UserRow[]> {
  const prefix = keyword.toLowerCase();
  const rows = await db.all<RawUser>(sql`
    SELECT * FROM (
      SELECT * FROM users WHERE id = ${keyword}
      UNION
      SELECT * FROM users WHERE username >= ${prefix} AND username < ${prefix + MAX_CHAR}
      UNION
      SELECT * FROM users WHERE lower(nickname) >= ${prefix} AND lower(nickname) < ${prefix + MAX_CHAR}
    ) WHERE status = 0 ORDER BY username LIMIT ${limit} OFFSET ${offset}`);
  return rows.map((r) => ({
    id: r.id,
    username: r.username,
    nickname: r.nickname,
    passwordHash: r.password_hash,
    avatar: r.avatar,
    phone: r.phone,
    email: r.email,
    gender: r.gender,
    birth: r.birth,
    signature: r.signature,
    extra: r.extra,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}
