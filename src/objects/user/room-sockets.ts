// Where the user's chatroom sockets are: one row per room socket, the relay holding it and its login
// session. When the user's sessions end (ban, logout, password change, the admin API) the user's
// object calls only the relays listed here to close them (docs/CHATROOMS.md, "Ended sessions"):
// a room keeps no list of who listens, and a relay never scans D1 for its listeners. Kept in SQLite
// so the list survives the object's eviction; at most MAX_ROOM_SOCKETS_PER_USER rows.
//
// A row is reserved by the socket route before it checks the session in D1, and placed on its relay
// by the relay just before it accepts the socket. An end of sessions that finds a reservation not
// yet placed drops it, and the relay then refuses the socket; one that finds it placed calls the
// relay, which refuses the join if it is still on its way. So no socket of an ended session is
// accepted after its end, however the two interleave.
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE room_sockets (
    socket_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    relay TEXT,
    reserved_at INTEGER NOT NULL
  )`,
];

/**
 * A reservation its relay never placed (the join was refused or failed on its way) no longer holds a
 * slot after this: a join takes well under it. A socket whose close was never reported is found
 * out by asking its relay (UserObject.reserveRoomSocket) instead.
 */
export const UNPLACED_TTL_MS = 60_000;

export interface RoomSocketEntry {
  socketId: string;
  sessionId: string;
  /** The relay object's name; null while the join is on its way to it. */
  relay: string | null;
}

export class RoomSockets {
  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "room_sockets", SCHEMA);
  }

  /** Slots held now; reservations left unplaced too long are forgotten first. */
  held(now: number): number {
    this.sql.exec("DELETE FROM room_sockets WHERE relay IS NULL AND reserved_at < ?", now - UNPLACED_TTL_MS);
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM room_sockets").one().n;
  }

  entries(): RoomSocketEntry[] {
    return this.sql
      .exec<{ socket_id: string; session_id: string; relay: string | null }>(
        "SELECT socket_id, session_id, relay FROM room_sockets",
      )
      .toArray()
      .map((r) => ({ socketId: r.socket_id, sessionId: r.session_id, relay: r.relay }));
  }

  /** A slot for a socket of `sessionId`; its id goes with the upgrade to the relay. */
  reserve(sessionId: string, now: number): string {
    const socketId = crypto.randomUUID();
    this.sql.exec(
      "INSERT INTO room_sockets (socket_id, session_id, reserved_at) VALUES (?, ?, ?)",
      socketId,
      sessionId,
      now,
    );
    return socketId;
  }

  /** The relay is about to accept the socket; false when the reservation is gone (its session ended). */
  place(socketId: string, relay: string): boolean {
    return (
      this.sql
        .exec(
          "UPDATE room_sockets SET relay = ? WHERE socket_id = ? AND relay IS NULL RETURNING socket_id",
          relay,
          socketId,
        )
        .toArray().length === 1
    );
  }

  drop(socketIds: readonly string[]): void {
    for (const socketId of socketIds) this.sql.exec("DELETE FROM room_sockets WHERE socket_id = ?", socketId);
  }
}
