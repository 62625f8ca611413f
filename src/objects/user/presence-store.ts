// Presence's own state in the UserObject's SQLite, one row: whose presence it is, whether friends
// were last told "online", when "offline" is due to be told, and when the user was last seen. Kept
// in memory once read; each change is one small write.
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE presence (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     user_id TEXT NOT NULL DEFAULT '',
     announced INTEGER NOT NULL DEFAULT 0,
     offline_at INTEGER NOT NULL DEFAULT 0,
     last_seen INTEGER NOT NULL DEFAULT 0
   )`,
  // Until this table, the inbox kept these in its `counters` and `profile` tables (created by the
  // inbox's schema, which runs first): they are copied here. Those tables stay, unread, so that the
  // previous deploy still works if it is rolled back to.
  `INSERT INTO presence (id, user_id, announced, offline_at, last_seen) VALUES (
     1,
     COALESCE((SELECT value FROM profile WHERE key = 'owner'), ''),
     COALESCE((SELECT value FROM counters WHERE name = 'presence_announced'), 0),
     COALESCE((SELECT value FROM counters WHERE name = 'presence_offline_at'), 0),
     COALESCE((SELECT value FROM counters WHERE name = 'last_seen'), 0)
   )`,
];

interface PresenceRow extends Record<string, SqlStorageValue> {
  user_id: string;
  announced: number;
  offline_at: number;
  last_seen: number;
}

export class PresenceStore {
  private readonly row: PresenceRow;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "presence", SCHEMA);
    this.row = sql
      .exec<PresenceRow>("SELECT user_id, announced, offline_at, last_seen FROM presence WHERE id = 1")
      .one();
  }

  /** The user this object belongs to, as recorded on their first connection ("" before it). */
  userId(): string {
    return this.row.user_id;
  }

  recordUserId(userId: string): void {
    if (this.row.user_id === userId) return;
    this.write("user_id", userId);
  }

  /** Whether the user's friends were last told "online". */
  announced(): boolean {
    return this.row.announced === 1;
  }

  setAnnounced(announced: boolean): void {
    this.write("announced", announced ? 1 : 0);
  }

  /** When friends are to be told "offline", or 0 when nothing is pending. */
  offlineAt(): number {
    return this.row.offline_at;
  }

  setOfflineAt(at: number): void {
    this.write("offline_at", at);
  }

  lastSeen(): number {
    return this.row.last_seen;
  }

  setLastSeen(at: number): void {
    this.write("last_seen", at);
  }

  private write<K extends keyof PresenceRow & string>(column: K, value: PresenceRow[K]): void {
    if (this.row[column] === value) return;
    this.sql.exec(`UPDATE presence SET ${column} = ? WHERE id = 1`, value);
    this.row[column] = value;
  }
}
