// The user's inbox in the UserObject's SQLite: one row per conversation with its max_seq, read_seq
// and last message, and the inbox sequence (AuthResponse.max_seq) that grows with every message
// delivered to the user. Unread is derived, max_seq − read_seq, so it cannot drift.
import { pb } from "../../protocol/codec";
import { toMessageInfo, type StoredMessage } from "../message";
import type { Delivery } from "../rpc";
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE inbox (
     conversation_id TEXT PRIMARY KEY,
     conversation_type INTEGER NOT NULL,
     peer_id TEXT NOT NULL DEFAULT '',
     max_seq INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0,
     delivered_seq INTEGER NOT NULL DEFAULT 0,
     last_message BLOB,
     last_time INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE INDEX inbox_by_time ON inbox (last_time DESC)`,
  `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
];

export interface InboxEntry {
  conversationId: string;
  conversationType: number;
  maxSeq: number;
  readSeq: number;
}

export class Inbox {
  private readonly sql: SqlStorage;
  private cachedInboxSeq: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, SCHEMA);
  }

  inboxSeq(): number {
    if (this.cachedInboxSeq === null) {
      const row = this.sql
        .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'inbox_seq'")
        .toArray()[0];
      this.cachedInboxSeq = row?.value ?? 0;
    }
    return this.cachedInboxSeq;
  }

  entry(conversationId: string): InboxEntry | null {
    const row = this.sql
      .exec<{ conversation_type: number; max_seq: number; read_seq: number }>(
        "SELECT conversation_type, max_seq, read_seq FROM inbox WHERE conversation_id = ?",
        conversationId,
      )
      .toArray()[0];
    if (!row) return null;
    return {
      conversationId,
      conversationType: row.conversation_type,
      maxSeq: row.max_seq,
      readSeq: row.read_seq,
    };
  }

  entries(): InboxEntry[] {
    return this.sql
      .exec<{ conversation_id: string; conversation_type: number; max_seq: number; read_seq: number }>(
        "SELECT conversation_id, conversation_type, max_seq, read_seq FROM inbox ORDER BY last_time DESC",
      )
      .toArray()
      .map((r) => ({
        conversationId: r.conversation_id,
        conversationType: r.conversation_type,
        maxSeq: r.max_seq,
        readSeq: r.read_seq,
      }));
  }

  /**
   * Records the messages of a delivery that are new to this inbox (seq above its max_seq) and
   * returns them; a repeated delivery returns nothing. One transaction for the whole delivery.
   */
  apply(delivery: Delivery, peerId: string): StoredMessage[] {
    return this.storage.transactionSync(() => {
      const known = this.entry(delivery.conversationId);
      let maxSeq = known?.maxSeq ?? 0;
      let readSeq = known?.readSeq ?? 0;
      const fresh = delivery.messages.filter((m) => m.seq > maxSeq);
      const last = fresh[fresh.length - 1];
      if (!last) return [];
      for (const m of fresh) {
        // Sending a message means having read the conversation up to it.
        if (m.senderId === delivery.recipientId) readSeq = m.seq;
        maxSeq = m.seq;
      }
      const lastMessage = pb.MessageInfo.encode(toMessageInfo(last)).finish();
      this.sql.exec(
        `INSERT INTO inbox (conversation_id, conversation_type, peer_id, max_seq, read_seq, last_message, last_time)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET
           max_seq = excluded.max_seq, read_seq = MAX(read_seq, excluded.read_seq),
           last_message = excluded.last_message, last_time = excluded.last_time`,
        delivery.conversationId,
        delivery.conversationType,
        peerId,
        maxSeq,
        readSeq,
        lastMessage,
        last.serverTime,
      );
      const inboxSeq = this.inboxSeq() + fresh.length;
      this.sql.exec(
        "INSERT INTO counters (name, value) VALUES ('inbox_seq', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        inboxSeq,
      );
      this.cachedInboxSeq = inboxSeq;
      return fresh;
    });
  }

  /** Moves the delivered watermark forward (never back). */
  markDelivered(conversationId: string, seq: number): void {
    this.sql.exec(
      "UPDATE inbox SET delivered_seq = MAX(delivered_seq, ?) WHERE conversation_id = ? AND max_seq >= ?",
      seq,
      conversationId,
      seq,
    );
  }
}
