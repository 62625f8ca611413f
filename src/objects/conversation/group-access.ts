// Who may come into a group, kept by its ConversationObject: the ban list (a kick bans until an
// owner or admin lifts it, or invites the user back) and the pending join requests of a group in
// `approval` join mode. Both are bounded; the object is their only writer.
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE group_bans (user_id TEXT PRIMARY KEY, banned_by TEXT NOT NULL, banned_at INTEGER NOT NULL)`,
  `CREATE TABLE join_requests (user_id TEXT PRIMARY KEY, requested_at INTEGER NOT NULL)`,
];

/** Most users a group's ban list holds; past it, kicks are refused until bans are lifted. */
export const MAX_BANS = 5_000;
/** Most join requests that may wait; past it, new requests are refused until some are handled. */
export const MAX_JOIN_REQUESTS = 500;

/** How a non-member comes in (members may always invite). */
export const JoinMode = { open: "open", inviteOnly: "invite-only", approval: "approval" } as const;
export type JoinMode = (typeof JoinMode)[keyof typeof JoinMode];
export const JOIN_MODES = Object.values(JoinMode);

export interface Ban {
  userId: string;
  bannedBy: string;
  bannedAt: number;
}

export interface JoinRequest {
  userId: string;
  requestedAt: number;
}

export class GroupAccess {
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "group_access", SCHEMA);
  }

  isBanned(userId: string): boolean {
    return this.sql.exec("SELECT 1 FROM group_bans WHERE user_id = ?", userId).toArray().length > 0;
  }

  banCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM group_bans").one().n;
  }

  ban(userIds: readonly string[], by: string, at: number): void {
    for (const id of userIds) {
      this.sql.exec(
        "INSERT OR IGNORE INTO group_bans (user_id, banned_by, banned_at) VALUES (?, ?, ?)",
        id,
        by,
        at,
      );
    }
  }

  unban(userIds: readonly string[]): void {
    for (const id of userIds) this.sql.exec("DELETE FROM group_bans WHERE user_id = ?", id);
  }

  bans(offset: number, limit: number): Ban[] {
    return this.sql
      .exec<{ user_id: string; banned_by: string; banned_at: number }>(
        "SELECT user_id, banned_by, banned_at FROM group_bans ORDER BY banned_at DESC, rowid DESC LIMIT ? OFFSET ?",
        limit,
        offset,
      )
      .toArray()
      .map((r) => ({ userId: r.user_id, bannedBy: r.banned_by, bannedAt: r.banned_at }));
  }

  hasRequest(userId: string): boolean {
    return this.sql.exec("SELECT 1 FROM join_requests WHERE user_id = ?", userId).toArray().length > 0;
  }

  requestCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM join_requests").one().n;
  }

  request(userId: string, at: number): void {
    this.sql.exec("INSERT OR IGNORE INTO join_requests (user_id, requested_at) VALUES (?, ?)", userId, at);
  }

  dropRequests(userIds: readonly string[]): void {
    for (const id of userIds) this.sql.exec("DELETE FROM join_requests WHERE user_id = ?", id);
  }

  requests(offset: number, limit: number): JoinRequest[] {
    return this.sql
      .exec<{ user_id: string; requested_at: number }>(
        "SELECT user_id, requested_at FROM join_requests ORDER BY requested_at, rowid LIMIT ? OFFSET ?",
        limit,
        offset,
      )
      .toArray()
      .map((r) => ({ userId: r.user_id, requestedAt: r.requested_at }));
  }
}
