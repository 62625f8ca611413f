// A room's messages in its SQLite: gapless seqs from 1, a resend of a (sender, client_msg_id) sent
// in the last DEDUP_WINDOW_MS answered with the stored seq, and only the newest `keep` kept (a room's history is recent by
// design: no per-member inbox, no D1 copy). The newest ones are also held in memory, so pushing a
// send to every relay and answering joins read no row.
import { migrate } from "../sql-migrations";
import { newMessageId } from "../message-ids";
import type { RoomMessage, RoomSend } from "./types";

/** Largest CHATROOM_HISTORY_REQ page. */
export const MAX_HISTORY_PAGE = 200;

const STEPS = [
  `CREATE TABLE room_messages (
     seq INTEGER PRIMARY KEY,
     server_msg_id TEXT NOT NULL,
     client_msg_id TEXT NOT NULL,
     sender_id TEXT NOT NULL,
     message_type INTEGER NOT NULL,
     content BLOB NOT NULL,
     server_time INTEGER NOT NULL
   )`,
  "CREATE UNIQUE INDEX room_messages_dedup ON room_messages (sender_id, client_msg_id)",
  // Resends are recognised by time, not by what the room still keeps: a busy room drops its kept
  // window in seconds, well before a listener that reconnects sends again.
  `CREATE TABLE room_sends (
     sender_id TEXT NOT NULL,
     client_msg_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     server_msg_id TEXT NOT NULL,
     server_time INTEGER NOT NULL,
     PRIMARY KEY (sender_id, client_msg_id)
   ) WITHOUT ROWID`,
  "CREATE INDEX room_sends_time ON room_sends (server_time)",
  "INSERT INTO room_sends SELECT sender_id, client_msg_id, seq, server_msg_id, server_time FROM room_messages",
  "DROP INDEX room_messages_dedup",
];

/**
 * How long a send's (sender, client_msg_id) is remembered, so its resend answers the stored seq.
 * Pruned in each send's transaction; rows are bounded by the per-sender rate over this window.
 */
export const DEDUP_WINDOW_MS = 10 * 60_000;

/** Newest messages held in memory: a relay's batch and a join's recent messages come from here. */
const MEMORY = 256;

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  server_msg_id: string;
  client_msg_id: string;
  sender_id: string;
  message_type: number;
  content: ArrayBuffer;
  server_time: number;
}

function fromRow(row: Row): RoomMessage {
  return {
    seq: row.seq,
    serverMsgId: row.server_msg_id,
    clientMsgId: row.client_msg_id,
    senderId: row.sender_id,
    messageType: row.message_type,
    content: new Uint8Array(row.content),
    serverTime: row.server_time,
  };
}

/** What a resend is answered with. */
export interface StoredSend {
  seq: number;
  serverMsgId: string;
  serverTime: number;
}

export class RoomMessages {
  private readonly sql: SqlStorage;
  private newest: RoomMessage[] = [];
  private max = 0;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "room_messages", STEPS);
    const rows = this.sql
      .exec<Row>("SELECT * FROM room_messages ORDER BY seq DESC LIMIT ?", MEMORY)
      .toArray()
      .map(fromRow);
    this.newest = rows.reverse();
    this.max = this.newest[this.newest.length - 1]?.seq ?? 0;
  }

  maxSeq(): number {
    return this.max;
  }

  /** The stored send a resend names (within DEDUP_WINDOW_MS), if any. */
  find(senderId: string, clientMsgId: string): StoredSend | null {
    const row = this.sql
      .exec<{ seq: number; server_msg_id: string; server_time: number }>(
        "SELECT seq, server_msg_id, server_time FROM room_sends WHERE sender_id = ? AND client_msg_id = ?",
        senderId,
        clientMsgId,
      )
      .toArray()[0];
    return row ? { seq: row.seq, serverMsgId: row.server_msg_id, serverTime: row.server_time } : null;
  }

  /**
   * Stores one message with the next seq, remembers its (sender, client_msg_id), and drops what
   * falls out of the newest `keep` and of the dedup window, in one transaction.
   */
  append(senderId: string, send: RoomSend, keep: number): RoomMessage {
    const now = Date.now();
    const message: RoomMessage = {
      seq: this.max + 1,
      serverMsgId: newMessageId(now),
      clientMsgId: send.clientMsgId,
      senderId,
      messageType: send.messageType,
      content: send.content,
      serverTime: now,
    };
    this.storage.transactionSync(() => {
      this.sql.exec(
        "INSERT INTO room_messages (seq, server_msg_id, client_msg_id, sender_id, message_type, content, server_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
        message.seq,
        message.serverMsgId,
        message.clientMsgId,
        senderId,
        message.messageType,
        message.content,
        message.serverTime,
      );
      if (message.seq > keep) this.sql.exec("DELETE FROM room_messages WHERE seq <= ?", message.seq - keep);
      this.sql.exec(
        "INSERT INTO room_sends (sender_id, client_msg_id, seq, server_msg_id, server_time) VALUES (?, ?, ?, ?, ?)",
        senderId,
        message.clientMsgId,
        message.seq,
        message.serverMsgId,
        message.serverTime,
      );
      this.sql.exec("DELETE FROM room_sends WHERE server_time < ?", now - DEDUP_WINDOW_MS);
    });
    this.max = message.seq;
    this.newest.push(message);
    // Never more than the room keeps: a history page or a join must not show what it dropped.
    const held = Math.min(MEMORY, keep);
    if (this.newest.length > held) this.newest.splice(0, this.newest.length - held);
    return message;
  }

  /** Kept messages with seq in (afterSeq, throughSeq], oldest first, at most `limit`. */
  range(afterSeq: number, throughSeq: number, limit: number): RoomMessage[] {
    const first = this.newest[0];
    if (first && first.seq <= afterSeq + 1) {
      const from = Math.max(0, afterSeq + 1 - first.seq);
      return this.newest.slice(from, from + limit).filter((m) => m.seq <= throughSeq);
    }
    return this.sql
      .exec<Row>(
        "SELECT * FROM room_messages WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        afterSeq,
        throughSeq,
        limit,
      )
      .toArray()
      .map(fromRow);
  }

  /** Drops every message (the room closed: nobody may read them again). The seq stays where it was. */
  clear(): void {
    this.sql.exec("DELETE FROM room_messages");
    this.sql.exec("DELETE FROM room_sends");
    this.newest = [];
  }

  /** The newest `count` messages, oldest first. */
  recent(count: number): RoomMessage[] {
    return this.newest.slice(-count);
  }
}
