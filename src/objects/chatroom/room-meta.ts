// A room's own record in its SQLite: what D1 says the room is (handed over with every join, so an
// object whose first call was lost still learns it) and whether it is closed. The room object is
// the one that refuses sends once closed; D1's `closed_at` refuses joins before they reach it.
import { migrate } from "../sql-migrations";
import { ChatroomAccess, type ChatroomMeta } from "./types";

const STEPS = [
  `CREATE TABLE room_meta (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     creator_id TEXT NOT NULL,
     access TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     closed INTEGER NOT NULL DEFAULT 0
   )`,
];

interface Row extends Record<string, SqlStorageValue> {
  id: string;
  name: string;
  creator_id: string;
  access: string;
  created_at: number;
  closed: number;
}

export class RoomMeta {
  private readonly sql: SqlStorage;
  private cached: { meta: ChatroomMeta; closed: boolean } | null;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    migrate(sql, "room_meta", STEPS);
    const row = sql.exec<Row>("SELECT * FROM room_meta LIMIT 1").toArray()[0];
    this.cached = row
      ? {
          meta: {
            id: row.id,
            name: row.name,
            creatorId: row.creator_id,
            access: row.access === ChatroomAccess.token ? ChatroomAccess.token : ChatroomAccess.open,
            createdAt: row.created_at,
          },
          closed: row.closed === 1,
        }
      : null;
  }

  get(): ChatroomMeta | null {
    return this.cached?.meta ?? null;
  }

  isClosed(): boolean {
    return this.cached?.closed ?? false;
  }

  /** Learns the room on its first join; later joins change nothing (the name never changes). */
  learn(meta: ChatroomMeta): void {
    if (this.cached) return;
    this.sql.exec(
      "INSERT INTO room_meta (id, name, creator_id, access, created_at) VALUES (?, ?, ?, ?, ?)",
      meta.id,
      meta.name,
      meta.creatorId,
      meta.access,
      meta.createdAt,
    );
    this.cached = { meta, closed: false };
  }

  close(roomId: string): void {
    if (this.cached?.closed) return;
    if (!this.cached) {
      // Closed before anyone joined: remember it all the same, so a late join is refused.
      this.sql.exec(
        "INSERT INTO room_meta (id, name, creator_id, access, created_at, closed) VALUES (?, '', '', 'open', 0, 1)",
        roomId,
      );
      this.cached = {
        meta: { id: roomId, name: "", creatorId: "", access: ChatroomAccess.open, createdAt: 0 },
        closed: true,
      };
      return;
    }
    this.sql.exec("UPDATE room_meta SET closed = 1");
    this.cached = { ...this.cached, closed: true };
  }
}
