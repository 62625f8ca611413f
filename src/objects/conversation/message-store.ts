// The conversation's own SQLite, messages side: the messages (the seq authority), what D1 does not
// have yet (a watermark and the revoked messages to copy again), and the conversation's identity.
// Members live in member-store.ts.
import { encodedSizeBound, toDelivered, type DeliveredMessage, type StoredMessage } from "../message";
import { migrate } from "../sql-migrations";

const SCHEMA = [
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

interface MessageRow extends Record<string, SqlStorageValue> {
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

/** How many of the newest messages a conversation keeps in memory for its fan-out. */
const RECENT_MESSAGES = 64;

export interface Identity {
  conversationId: string;
  conversationType: number;
  groupId: string;
}

export type NewMessage = Omit<
  StoredMessage,
  | "seq"
  | "conversationId"
  | "conversationType"
  | "groupId"
  | "isRevoked"
  | "revokedBy"
  | "revokedTime"
  | "status"
>;

export class MessageStore {
  private cachedMaxSeq: number | null = null;
  private cachedIdentity: Identity | null = null;

  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "messages", SCHEMA);
  }

  /** Binds this object to its conversation on first use; a different id later is a routing bug. */
  identity(wanted: Identity): Identity {
    const known = this.storedIdentity();
    if (known) {
      if (known.conversationId !== wanted.conversationId) {
        throw new Error(`object of ${known.conversationId} asked about ${wanted.conversationId}`);
      }
      return known;
    }
    for (const [key, value] of Object.entries(wanted)) {
      this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", key, String(value));
    }
    this.cachedIdentity = wanted;
    return wanted;
  }

  /** The identity bound earlier, if any. */
  storedIdentity(): Identity | null {
    return this.cachedIdentity ?? this.readIdentity();
  }

  private readIdentity(): Identity | null {
    const rows = this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta").toArray();
    const meta = new Map(rows.map((r) => [r.key, r.value]));
    const conversationId = meta.get("conversationId");
    if (!conversationId) return null;
    this.cachedIdentity = {
      conversationId,
      conversationType: Number(meta.get("conversationType")),
      groupId: meta.get("groupId") ?? "",
    };
    return this.cachedIdentity;
  }

  maxSeq(): number {
    if (this.cachedMaxSeq === null) {
      const row = this.sql.exec<{ max: number | null }>("SELECT MAX(seq) AS max FROM messages").one();
      this.cachedMaxSeq = row.max ?? 0;
    }
    return this.cachedMaxSeq;
  }

  findByClientMsgId(senderId: string, clientMsgId: string, id: Identity): StoredMessage | null {
    const row = this.sql
      .exec<MessageRow>(
        "SELECT * FROM messages WHERE sender_id = ? AND client_msg_id = ?",
        senderId,
        clientMsgId,
      )
      .toArray()[0];
    return row ? toStored(row, id) : null;
  }

  /**
   * Stores a message under the next seq and queues it for D1, in one synchronous transaction:
   * when this returns, the message is durable and its seq is taken.
   */
  append(message: NewMessage, id: Identity): StoredMessage {
    const [only] = this.appendMany([message], id);
    if (!only || only.duplicate) throw new Error(`duplicate client_msg_id ${message.clientMsgId}`);
    return only.message;
  }

  /**
   * Stores messages under the next seqs, in order, and queues them for D1, all in one synchronous
   * transaction (one commit however many there are). A message whose (sender, client_msg_id) is
   * already stored, earlier or in this same batch, takes no seq: its stored copy comes back,
   * marked duplicate. The insert itself detects it, so a new message costs no look-up first.
   */
  appendMany(
    messages: readonly NewMessage[],
    id: Identity,
  ): { message: StoredMessage; duplicate: boolean }[] {
    try {
      return this.transaction(() => messages.map((message) => this.insert(message, id)));
    } catch (error) {
      // Rolled back: forget what the cached max seq and recent messages took from the batch.
      this.cachedMaxSeq = null;
      this.forgetRecent();
      throw error;
    }
  }

  private insert(message: NewMessage, id: Identity): { message: StoredMessage; duplicate: boolean } {
    const seq = this.maxSeq() + 1;
    const inserted = this.sql.exec(
      `INSERT INTO messages (seq, server_msg_id, client_msg_id, sender_id, receiver_id, message_type, content,
         send_time, server_time, extra, attached_info, origin_session)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sender_id, client_msg_id) DO NOTHING`,
      seq,
      message.serverMsgId,
      message.clientMsgId,
      message.senderId,
      message.receiverId,
      message.messageType,
      message.content,
      message.sendTime,
      message.serverTime,
      message.extra,
      message.attachedInfo,
      message.originSession,
    ).rowsWritten;
    if (inserted === 0) {
      const earlier = this.findByClientMsgId(message.senderId, message.clientMsgId, id);
      if (!earlier) throw new Error(`message ${message.clientMsgId} conflicted but is not stored`);
      return { message: earlier, duplicate: true };
    }
    this.cachedMaxSeq = seq;
    const stored = { ...message, seq, ...id, isRevoked: false, revokedBy: "", revokedTime: 0 };
    this.remember(stored);
    return { message: stored, duplicate: false };
  }

  /**
   * The newest appended messages, contiguous by seq, kept in memory: a group's fan-out reads the
   * same new message once per member, and it is served from here instead of SQLite.
   */
  private recent: StoredMessage[] = [];

  /** The remembered messages encoded for delivery, made on first use and shared by every member. */
  private encoded = new Map<number, DeliveredMessage>();

  private remember(message: StoredMessage): void {
    const last = this.recent[this.recent.length - 1];
    if (last && last.seq + 1 !== message.seq) this.forgetRecent();
    this.recent.push(message);
    if (this.recent.length > RECENT_MESSAGES) {
      const dropped = this.recent.shift();
      if (dropped) this.encoded.delete(dropped.seq);
    }
  }

  private forgetRecent(): void {
    this.recent = [];
    this.encoded.clear();
  }

  /** Messages from..to as the fan-out delivers them, each encoded once while it is recent. */
  deliverable(from: number, to: number, limit: number, id: Identity): DeliveredMessage[] {
    return this.range(from, to, limit, id).map((m) => {
      let delivered = this.encoded.get(m.seq);
      if (!delivered) {
        delivered = toDelivered(m);
        if (this.recent[0] && m.seq >= this.recent[0].seq) this.encoded.set(m.seq, delivered);
      }
      return delivered;
    });
  }

  /** Copies of the remembered messages from..to, or null when some of them are not remembered. */
  private fromMemory(from: number, to: number, limit: number): StoredMessage[] | null {
    const first = this.recent[0];
    if (!first || from < first.seq || to > first.seq + this.recent.length - 1) return null;
    return this.recent
      .slice(from - first.seq, Math.min(to, from + limit - 1) - first.seq + 1)
      .map((m) => ({ ...m }));
  }

  findByServerMsgId(serverMsgId: string, id: Identity): StoredMessage | null {
    const row = this.sql
      .exec<MessageRow>("SELECT * FROM messages WHERE server_msg_id = ?", serverMsgId)
      .toArray()[0];
    return row ? toStored(row, id) : null;
  }

  /** The seqs and senders of these ids that belong to this conversation. */
  lookup(serverMsgIds: readonly string[]): { seq: number; senderId: string }[] {
    const found = [];
    for (const serverMsgId of serverMsgIds) {
      const row = this.sql
        .exec<{ seq: number; sender_id: string }>(
          "SELECT seq, sender_id FROM messages WHERE server_msg_id = ?",
          serverMsgId,
        )
        .toArray()[0];
      if (row) found.push({ seq: row.seq, senderId: row.sender_id });
    }
    return found;
  }

  /** Ids and senders of messages in (after, upTo] not sent by `reader`, newest first, at most `limit`. */
  othersMessagesBetween(
    after: number,
    upTo: number,
    reader: string,
    limit: number,
  ): { serverMsgId: string; senderId: string }[] {
    return this.sql
      .exec<{ server_msg_id: string; sender_id: string }>(
        "SELECT server_msg_id, sender_id FROM messages WHERE seq > ? AND seq <= ? AND sender_id != ? ORDER BY seq DESC LIMIT ?",
        after,
        upTo,
        reader,
        limit,
      )
      .toArray()
      .map((r) => ({ serverMsgId: r.server_msg_id, senderId: r.sender_id }));
  }

  /** Empties a message's content and marks it revoked; queues the row for D1 again. */
  revoke(seq: number, by: string, at: number): void {
    this.forgetRecent(); // the remembered copy would still have its content
    this.transaction(() => {
      this.sql.exec(
        "UPDATE messages SET content = ?, is_revoked = 1, revoked_by = ?, revoked_time = ? WHERE seq = ?",
        new Uint8Array(),
        by,
        at,
        seq,
      );
      this.sql.exec("INSERT OR IGNORE INTO requeue (seq) VALUES (?)", seq);
    });
  }

  /** Messages with from ≤ seq ≤ to, ascending, at most `limit`. */
  /**
   * Messages from..to, ascending, at most `limit` and, past the first, at most `maxBytes` of
   * encoded size: rows are read one at a time, so a page of large messages is never loaded whole.
   */
  range(from: number, to: number, limit: number, id: Identity, maxBytes = Infinity): StoredMessage[] {
    const remembered = this.fromMemory(from, to, limit);
    if (remembered) return withinBytes(remembered, maxBytes);
    return takeWithinBytes(
      this.sql.exec<MessageRow>(
        "SELECT * FROM messages WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
        from,
        to,
        limit,
      ),
      id,
      maxBytes,
    );
  }

  /** The newest `limit` messages with seq ≤ to (as many of the newest as fit `maxBytes`), ascending. */
  newest(to: number, limit: number, id: Identity, maxBytes = Infinity): StoredMessage[] {
    return takeWithinBytes(
      this.sql.exec<MessageRow>("SELECT * FROM messages WHERE seq <= ? ORDER BY seq DESC LIMIT ?", to, limit),
      id,
      maxBytes,
    ).reverse();
  }

  // ---- outbox: what D1 does not have yet ----

  private cachedFlushedSeq: number | null = null;

  /** D1 has every message up to this seq (revoked ones in requeue excepted). */
  private flushedSeq(): number {
    this.cachedFlushedSeq ??= Number(
      this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'flushedSeq'").toArray()[0]
        ?.value ?? 0,
    );
    return this.cachedFlushedSeq;
  }

  /** The oldest messages D1 lacks: revoked ones to copy again, then those past the watermark. */
  outboxBatch(limit: number, id: Identity): StoredMessage[] {
    const flushed = this.flushedSeq();
    return this.sql
      .exec<MessageRow>(
        `SELECT * FROM messages WHERE seq IN (SELECT seq FROM requeue WHERE seq <= ?)
         UNION ALL
         SELECT * FROM messages WHERE seq > ?
         ORDER BY seq LIMIT ?`,
        flushed,
        flushed,
        limit,
      )
      .toArray()
      .map((row) => toStored(row, id));
  }

  /** Whether D1 lacks anything. */
  hasUnflushed(): boolean {
    return (
      this.maxSeq() > this.flushedSeq() || this.sql.exec("SELECT 1 FROM requeue LIMIT 1").toArray().length > 0
    );
  }

  /** The seqs D1 lacks, in order (tests and diagnostics). */
  unflushedSeqs(): number[] {
    const flushed = this.flushedSeq();
    return this.sql
      .exec<{ seq: number }>(
        "SELECT seq FROM requeue WHERE seq <= ? UNION SELECT seq FROM messages WHERE seq > ? ORDER BY seq",
        flushed,
        flushed,
      )
      .toArray()
      .map((r) => r.seq);
  }

  /**
   * Records that D1 has a flushed batch: the watermark moves past its new messages, and its
   * revoked ones leave requeue. A message revoked while its flush was in flight stays queued: D1
   * got the copy from before the revoke, and the next flush overwrites it.
   */
  /** Records messages D1 refused while others went in; they count as flushed from now on. */
  setAside(refused: readonly { message: StoredMessage; error: string }[]): void {
    const now = Date.now();
    for (const { message, error } of refused) {
      this.sql.exec(
        "INSERT INTO set_aside (seq, error, at) VALUES (?, ?, ?) ON CONFLICT (seq) DO UPDATE SET error = excluded.error, at = excluded.at",
        message.seq,
        error.slice(0, 500),
        now,
      );
    }
  }

  /** The messages D1 refused, with why (tests and operators). */
  setAsideSeqs(): { seq: number; error: string }[] {
    return this.sql
      .exec<{ seq: number; error: string }>("SELECT seq, error FROM set_aside ORDER BY seq")
      .toArray();
  }

  outboxDone(flushed: readonly StoredMessage[]): void {
    const before = this.flushedSeq();
    const upTo = Math.max(before, ...flushed.map((m) => m.seq));
    this.transaction(() => {
      for (const m of flushed) {
        if (m.isRevoked) this.sql.exec("DELETE FROM requeue WHERE seq = ?", m.seq);
      }
      if (upTo > before) this.sql.exec("UPDATE meta SET value = ? WHERE key = 'flushedSeq'", String(upTo));
    });
    this.cachedFlushedSeq = upTo;
  }

  private transaction<T>(body: () => T): T {
    return this.storage.transactionSync(body);
  }
}

function toStored(row: MessageRow, id: Identity): StoredMessage {
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

/** Stored messages from rows, read one at a time, until the next would pass `maxBytes`. */
function takeWithinBytes(rows: Iterable<MessageRow>, id: Identity, maxBytes: number): StoredMessage[] {
  const out: StoredMessage[] = [];
  let used = 0;
  for (const row of rows) {
    const message = toStored(row, id);
    used += encodedSizeBound(message);
    if (out.length > 0 && used > maxBytes) break;
    out.push(message);
  }
  return out;
}

/** The longest prefix of `messages` within `maxBytes` (never empty when `messages` is not). */
export function withinBytes(messages: StoredMessage[], maxBytes: number): StoredMessage[] {
  let used = 0;
  for (let i = 0; i < messages.length; i++) {
    used += encodedSizeBound(messages[i] as StoredMessage);
    if (i > 0 && used > maxBytes) return messages.slice(0, i);
  }
  return messages;
}

/** The longest suffix (the newest) of `messages` within `maxBytes` (never empty when `messages` is not). */
export function newestWithinBytes(messages: StoredMessage[], maxBytes: number): StoredMessage[] {
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    used += encodedSizeBound(messages[i] as StoredMessage);
    if (i < messages.length - 1 && used > maxBytes) return messages.slice(i + 1);
  }
  return messages;
}
