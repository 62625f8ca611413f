// The conversation's own SQLite, messages side: the messages, the seq authority. A message takes the
// next seq in the transaction that stores it; a resend of a stored (sender, client_msg_id) takes
// none. What D1 lacks is in outbox-store.ts, the identity in identity.ts, members in member-store.ts.
import {
  storedMessage,
  toDelivered,
  type DeliveredMessage,
  type Identity,
  type NewMessage,
  type StoredMessage,
} from "../message";
import { decodeRich } from "../rich-fields";
import { migrateMessages, toStored, type MessageRow } from "./message-tables";
import { takeWithinBytes, withinBytes } from "./page-bytes";

/** How many of the newest messages a conversation keeps in memory for its fan-out. */
const RECENT_MESSAGES = 64;

export class MessageStore {
  private cachedMaxSeq: number | null = null;

  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrateMessages(this.sql);
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
   * Stores a message under the next seq (past the D1 watermark until flushed, outbox-store.ts), in
   * one synchronous transaction:
   * when this returns, the message is durable and its seq is taken.
   */
  append(message: NewMessage, id: Identity): StoredMessage {
    const [only] = this.appendMany([message], id);
    if (!only || only.duplicate) throw new Error(`duplicate client_msg_id ${message.clientMsgId}`);
    return only.message;
  }

  /**
   * Stores messages under the next seqs, in order (past the D1 watermark until flushed), all in one synchronous
   * transaction (one commit however many there are). A message whose (sender, client_msg_id) is
   * already stored, earlier or in this same batch, takes no seq: its stored copy comes back,
   * marked duplicate. The insert itself detects it, so a new message costs no look-up first.
   */
  appendMany(
    messages: readonly NewMessage[],
    id: Identity,
    /** Runs in the same transaction after the inserts (a reply's quoted message counts it there). */
    then?: (stored: { message: StoredMessage; duplicate: boolean }[]) => void,
  ): { message: StoredMessage; duplicate: boolean }[] {
    try {
      return this.transaction(() => {
        const stored = messages.map((message) => this.insert(message, id));
        then?.(stored);
        return stored;
      });
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
         send_time, server_time, extra, attached_info, origin_session, ext, reply_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
      message.ext ?? null,
      // Only a rich message is decoded: a plain one binds two NULLs in the same statement.
      message.ext ? (decodeRich(message.ext).replyTo?.seq ?? null) : null,
    ).rowsWritten;
    if (inserted === 0) {
      const earlier = this.findByClientMsgId(message.senderId, message.clientMsgId, id);
      if (!earlier) throw new Error(`message ${message.clientMsgId} conflicted but is not stored`);
      return { message: earlier, duplicate: true };
    }
    this.cachedMaxSeq = seq;
    const stored = storedMessage(message, seq, id);
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

  /** Drops the remembered messages (after a change rolled back, or a revoke emptied one). */
  forgetRecent(): void {
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

  /** Empties a message's content and marks it revoked (its caller queues it for D1 again). */
  revoke(seq: number, by: string, at: number): void {
    this.forgetRecent(); // the remembered copy would still have its content
    this.sql.exec(
      "UPDATE messages SET content = ?, is_revoked = 1, revoked_by = ?, revoked_time = ? WHERE seq = ?",
      new Uint8Array(),
      by,
      at,
      seq,
    );
  }

  /**
   * Records a change to a message (docs/RICH-MESSAGES.md): its new rich fields and change number,
   * and for an edit its new content, in the caller's transaction. The remembered copy is replaced
   * and its encoding dropped, so the fan-out never delivers the message as it was.
   */
  setChanged(seq: number, ext: Uint8Array | undefined, modSeq: number, content?: Uint8Array): void {
    if (content === undefined)
      this.sql.exec("UPDATE messages SET ext = ?, mod_seq = ? WHERE seq = ?", ext ?? null, modSeq, seq);
    else
      this.sql.exec(
        "UPDATE messages SET ext = ?, mod_seq = ?, content = ? WHERE seq = ?",
        ext ?? null,
        modSeq,
        content,
        seq,
      );
    const first = this.recent[0];
    const at = first ? seq - first.seq : -1;
    const remembered = this.recent[at];
    if (!remembered) return;
    this.recent[at] = content === undefined ? { ...remembered, ext } : { ...remembered, ext, content };
    this.encoded.delete(seq);
  }

  /** Rows of the replies quoting `rootSeq` with seq in (after, upTo], oldest first (a cursor). */
  replies(rootSeq: number, after: number, upTo: number): Iterable<MessageRow> {
    return this.sql.exec<MessageRow>(
      "SELECT * FROM messages WHERE reply_seq = ? AND seq > ? AND seq <= ? ORDER BY seq",
      rootSeq,
      after,
      upTo,
    );
  }

  /** The seqs of the messages quoting `rootSeq`, oldest first. */
  replySeqs(rootSeq: number): number[] {
    return this.sql
      .exec<{ seq: number }>("SELECT seq FROM messages WHERE reply_seq = ? ORDER BY seq", rootSeq)
      .toArray()
      .map((r) => r.seq);
  }

  /** Rows with seq in [from, to] changed after `afterModSeq`, by change number (a cursor). */
  changedAfter(afterModSeq: number, from: number, to: number): Iterable<MessageRow> {
    // "mod_seq > 0" lets SQLite use the partial index messages_changes.
    return this.sql.exec<MessageRow>(
      "SELECT * FROM messages WHERE mod_seq > 0 AND mod_seq > ? AND seq >= ? AND seq <= ? ORDER BY mod_seq",
      afterModSeq,
      from,
      to,
    );
  }

  /** The seq and change number of rows with seq in [from, to] changed after `afterModSeq`, by change number. */
  changedSeqsAfter(afterModSeq: number, from: number, to: number): Iterable<{ seq: number; modSeq: number }> {
    const rows = this.sql.exec<{ seq: number; mod_seq: number }>(
      "SELECT seq, mod_seq FROM messages WHERE mod_seq > 0 AND mod_seq > ? AND seq >= ? AND seq <= ? ORDER BY mod_seq",
      afterModSeq,
      from,
      to,
    );
    return (function* () {
      for (const row of rows) yield { seq: row.seq, modSeq: row.mod_seq };
    })();
  }

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

  private transaction<T>(body: () => T): T {
    return this.storage.transactionSync(body);
  }
}
