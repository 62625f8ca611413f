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
  // Rich messages (docs/RICH-MESSAGES.md). `ext`: the message's MessageInfo fields 100+ encoded on
  // their own (NULL: a plain message, which costs nothing more); `mod_seq`: the conversation's change
  // number at the row's last change (0: never changed); `reply_seq`: the seq it quotes, for threads.
  `ALTER TABLE messages ADD COLUMN ext BLOB`,
  `ALTER TABLE messages ADD COLUMN mod_seq INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE messages ADD COLUMN reply_seq INTEGER`,
  // CHANGES_REQ walks the changed rows by change number; a never-changed row is not in the index.
  `CREATE INDEX messages_changes ON messages (mod_seq) WHERE mod_seq > 0`,
  // THREAD_REQ pages a root's replies by seq; the revoke of a root finds the replies quoting it.
  `CREATE INDEX messages_thread ON messages (reply_seq, seq) WHERE reply_seq IS NOT NULL`,
  // Who reacted with what; the rowid keeps the order of reacting (Reaction.user_ids).
  `CREATE TABLE reactions (
     seq INTEGER NOT NULL,
     emoji TEXT NOT NULL,
     user_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     UNIQUE (seq, emoji, user_id)
   )`,
  `CREATE INDEX reactions_user ON reactions (seq, user_id)`,
  // Earlier contents of edited messages, version 1 the original.
  `CREATE TABLE edits (
     seq INTEGER NOT NULL,
     version INTEGER NOT NULL,
     content BLOB NOT NULL,
     replaced_time INTEGER NOT NULL,
     PRIMARY KEY (seq, version)
   )`,
  // The newest change number and the one the pinned list last changed at are `meta`'s modSeq and
  // pinsModSeq, written at the first change (absent: 0), so an object that never had one has neither.
  `CREATE TABLE pins (seq INTEGER PRIMARY KEY, pinned_by TEXT NOT NULL, pinned_time INTEGER NOT NULL)`,
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
  ext: ArrayBuffer | null;
  mod_seq: number;
  reply_seq: number | null;
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
    ext: row.ext === null ? undefined : new Uint8Array(row.ext),
  };
}
