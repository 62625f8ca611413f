// The messages migration of a conversation's SQLite, and a stored row as a StoredMessage. Its tables
// serve three stores: the messages themselves (message-store.ts), what D1 does not have yet
// (outbox-store.ts) and the conversation's identity in `meta` (identity.ts). Each store runs the
// migration when it is made; it runs once, so the order they are made in does not matter.
import type { StoredMessage } from "../message";
import { migrate } from "../sql-migrations";

const MESSAGES_SCHEMA = [
  `CREATE TABLE messages (
     seq INTEGER PRIMARY KEY,
     server_msg_id TEXT NOT NULL UNIQUE,
     client_msg_id TEXT NOT NULL,
     sender_id TEXT NOT NULL,
     receiver_id TEXT NOT NULL,
     message_type INTEGER NOT NULL,
     content BLOB NOT NULL,
     send_time INTEGER NOT NULL,
     server_time INTEGER NOT NULL,
     extra TEXT NOT NULL,
     attached_info TEXT NOT NULL,
     origin_session TEXT NOT NULL,
     is_revoked INTEGER NOT NULL DEFAULT 0,
     revoked_by TEXT NOT NULL DEFAULT '',
     revoked_time INTEGER NOT NULL DEFAULT 0
   )`,
  // A resend of the same (sender, client_msg_id) must find the original (PROTOCOL.md, "Send").
  `CREATE UNIQUE INDEX messages_dedup ON messages (sender_id, client_msg_id)`,
  // Seqs whose rows D1 does not have yet; emptied by the alarm (history-outbox.ts). Replaced below.
  `CREATE TABLE outbox (seq INTEGER PRIMARY KEY)`,
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // The outbox becomes a watermark, flushedSeq: D1 has every message up to it, so a new message
  // costs no outbox row (and no delete after its flush). Only revoked messages, whose new state D1
  // must get again, are listed, in requeue.
  `CREATE TABLE requeue (seq INTEGER PRIMARY KEY)`,
  `INSERT INTO requeue (seq) SELECT o.seq FROM outbox o JOIN messages m ON m.seq = o.seq WHERE m.is_revoked = 1`,
  `INSERT INTO meta (key, value) SELECT 'flushedSeq',
     COALESCE((SELECT MIN(seq) - 1 FROM outbox), (SELECT MAX(seq) FROM messages), 0)`,
  `DROP TABLE outbox`,
  // Messages D1 refused while the rows around them went in: kept here (they are still served from
  // this object), never retried blindly, listed for an operator (history-outbox.ts).
  `CREATE TABLE set_aside (seq INTEGER PRIMARY KEY, error TEXT NOT NULL, at INTEGER NOT NULL)`,
];

/** Creates or brings up to date the tables above (a no-op once they are current). */
export function migrateMessages(sql: SqlStorage): void {
  migrate(sql, "messages", MESSAGES_SCHEMA);
}

export interface MessageRow extends Record<string, SqlStorageValue> {
  seq: number;
  server_msg_id: string;
  client_msg_id: string;
  sender_id: string;
  receiver_id: string;
  message_type: number;
  content: ArrayBuffer;
  send_time: number;
  server_time: number;
  extra: string;
  attached_info: string;
  origin_session: string;
  is_revoked: number;
  revoked_by: string;
  revoked_time: number;
}

/** `id`: the conversation's identity (identity.ts), which rows do not repeat. */
export function toStored(
  row: MessageRow,
  id: Pick<StoredMessage, "conversationId" | "conversationType" | "groupId">,
): StoredMessage {
  return {
    seq: row.seq,
    serverMsgId: row.server_msg_id,
    clientMsgId: row.client_msg_id,
    conversationId: id.conversationId,
    conversationType: id.conversationType,
    groupId: id.groupId,
    senderId: row.sender_id,
    receiverId: row.receiver_id,
    messageType: row.message_type,
    content: new Uint8Array(row.content),
    sendTime: row.send_time,
    serverTime: row.server_time,
    extra: row.extra,
    attachedInfo: row.attached_info,
    originSession: row.origin_session,
    isRevoked: row.is_revoked === 1,
    revokedBy: row.revoked_by,
    revokedTime: row.revoked_time,
  };
}
