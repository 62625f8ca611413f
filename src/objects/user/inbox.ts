// The user's inbox in the UserObject's SQLite: one row per conversation with its max_seq, read_seq,
// last message and settings (pinned, muted, hidden). The inbox sequence (AuthResponse.max_seq) is
// the sum of the rows' max_seq, worked out when asked. Unread is derived, max_seq − read_seq, so
// it cannot drift.
import { pb, type MessageInfo } from "../../protocol/codec";
import type { DeliveredMessage } from "../message";
import type { Delivery, RevokePush } from "../rpc";
import { migrate } from "../sql-migrations";

// delivered_seq is unused: it was written on every ack and never read (a conversation's object
// keeps the delivered watermark one-to-one statuses come from), so nothing writes it any more.
const SCHEMA = [
  `CREATE TABLE inbox (
     conversation_id TEXT PRIMARY KEY,
     conversation_type INTEGER NOT NULL,
     peer_id TEXT NOT NULL DEFAULT '',
     max_seq INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0,
     read_time INTEGER NOT NULL DEFAULT 0,
     delivered_seq INTEGER NOT NULL DEFAULT 0,
     last_message BLOB,
     last_time INTEGER NOT NULL DEFAULT 0,
     pinned INTEGER NOT NULL DEFAULT 0,
     muted INTEGER NOT NULL DEFAULT 0,
     hidden INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE INDEX inbox_by_time ON inbox (pinned DESC, last_time DESC, conversation_id)`,
  // Presence's state lived in these two until it had a table of its own (presence-store.ts, whose
  // schema copies their rows); unused since.
  `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
  `CREATE TABLE profile (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // Every delivery moves its row's last_time, so this index was rewritten on every message (a third
  // of a delivery's SQLite time) to serve the conversation list, a rare read that sorts one user's
  // conversations as quickly without it.
  `DROP INDEX inbox_by_time`,
  // Rich messages (docs/RICH-MESSAGES.md): the newest message that mentioned the user (GET
  // /api/conversations shows "mentioned" while it is unread; a mention breaks through a mute for
  // push), and the conversation's newest change number this inbox heard of (BATCH_SYNC tells a
  // rich client without waking a conversation that has nothing new).
  `ALTER TABLE inbox ADD COLUMN mention_seq INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE inbox ADD COLUMN mod_seq INTEGER NOT NULL DEFAULT 0`,
  // The unread messages that mentioned the user, the newest MENTIONS_KEPT per conversation: when the
  // newest is revoked, mention_seq falls back to the one before it (or 0), so a revoked mention
  // neither keeps "mentioned" nor breaks through a mute. Rows from before it: each row's mention.
  `CREATE TABLE inbox_mentions (
     conversation_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     PRIMARY KEY (conversation_id, seq)
   ) WITHOUT ROWID`,
  `INSERT INTO inbox_mentions (conversation_id, seq)
     SELECT conversation_id, mention_seq FROM inbox WHERE mention_seq > read_seq`,
  // The change number of the state last_message shows when a change (an edit, a revoke) replaced
  // it: an older state arriving later never replaces a newer one. A newer message's changes always
  // take higher numbers, so it needs no reset when a new message becomes the last.
  `ALTER TABLE inbox ADD COLUMN last_mod_seq INTEGER NOT NULL DEFAULT 0`,
];

/**
 * Unread mentions kept per conversation. Only the newest matter: "mentioned" needs one unread, and an
 * older one is missed only if all the newer kept ones are revoked.
 */
export const MENTIONS_KEPT = 20;

export interface InboxEntry {
  conversationId: string;
  conversationType: number;
  peerId: string;
  maxSeq: number;
  readSeq: number;
  readTime: number;
  /** The last message, an encoded MessageInfo (RPC carries plain data, not codec objects). */
  lastMessage: Uint8Array | null;
  lastTime: number;
  pinned: boolean;
  muted: boolean;
  hidden: boolean;
  /** The newest message that mentioned the user (0: none); unread while above readSeq. */
  mentionSeq: number;
  /** The conversation's newest change number the inbox heard of (rich messages). */
  modSeq: number;
}

interface InboxRow extends Record<string, SqlStorageValue> {
  conversation_id: string;
  conversation_type: number;
  peer_id: string;
  max_seq: number;
  read_seq: number;
  read_time: number;
  last_message: ArrayBuffer | null;
  last_time: number;
  pinned: number;
  muted: number;
  hidden: number;
  mention_seq: number;
  mod_seq: number;
}

function toEntry(row: InboxRow): InboxEntry {
  return {
    conversationId: row.conversation_id,
    conversationType: row.conversation_type,
    peerId: row.peer_id,
    maxSeq: row.max_seq,
    readSeq: row.read_seq,
    readTime: row.read_time,
    lastMessage: row.last_message ? new Uint8Array(row.last_message) : null,
    lastTime: row.last_time,
    pinned: row.pinned === 1,
    muted: row.muted === 1,
    hidden: row.hidden === 1,
    mentionSeq: row.mention_seq,
    modSeq: row.mod_seq,
  };
}

const COLUMNS =
  "conversation_id, conversation_type, peer_id, max_seq, read_seq, read_time, last_message, last_time, pinned, muted, hidden, mention_seq, mod_seq";

/** The cached number under `key`, read from its row (0 without one) the first time it is asked. */
function cachedNumber(cache: Map<string, number>, key: string, rows: () => { value: number }[]): number {
  let value = cache.get(key);
  if (value === undefined) {
    value = rows()[0]?.value ?? 0;
    cache.set(key, value);
  }
  return value;
}

export class Inbox {
  private readonly sql: SqlStorage;
  /** Each conversation's max_seq, read once: only `apply` moves it. */
  private readonly maxSeqCache = new Map<string, number>();

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "inbox", SCHEMA);
  }

  /**
   * The inbox sequence (AuthResponse.max_seq): the sum of the conversations' max seqs, so it counts
   * every message in the user's conversations and grows with each one delivered, and a client
   * whose stored value is equal knows nothing changed. Summed when asked (at AUTH) rather than
   * kept as a counter, which cost a second write on every delivery.
   */
  inboxSeq(): number {
    return this.sql.exec<{ n: number }>("SELECT COALESCE(SUM(max_seq), 0) AS n FROM inbox").one().n;
  }

  /**
   * Whether the inbox has a row for the conversation: the membership check before every send, sync
   * range, revoke and typing (membership.ts). A conversation that delivered anything is known from
   * the max_seq cache; otherwise one indexed look-up that reads no row (not the last message).
   */
  holds(conversationId: string): boolean {
    if ((this.maxSeqCache.get(conversationId) ?? 0) > 0) return true;
    return (
      this.sql.exec("SELECT 1 FROM inbox WHERE conversation_id = ?", conversationId).toArray().length > 0
    );
  }

  entry(conversationId: string): InboxEntry | null {
    const row = this.sql
      .exec<InboxRow>(`SELECT ${COLUMNS} FROM inbox WHERE conversation_id = ?`, conversationId)
      .toArray()[0];
    return row ? toEntry(row) : null;
  }

  /** Whether the user muted the conversation: one column, not the row's last message. */
  isMuted(conversationId: string): boolean {
    return (
      this.sql
        .exec<{ muted: number }>("SELECT muted FROM inbox WHERE conversation_id = ?", conversationId)
        .toArray()[0]?.muted === 1
    );
  }

  /** Every conversation, hidden ones included (sync must still cover them). */
  entries(): InboxEntry[] {
    return this.sql
      .exec<InboxRow>(`SELECT ${COLUMNS} FROM inbox ORDER BY last_time DESC`)
      .toArray()
      .map(toEntry);
  }

  /** The conversation list: visible rows, pinned first, then by last activity. */
  page(offset: number, limit: number): InboxEntry[] {
    return this.sql
      .exec<InboxRow>(
        `SELECT ${COLUMNS} FROM inbox WHERE hidden = 0 AND max_seq > 0 ORDER BY pinned DESC, last_time DESC, conversation_id LIMIT ? OFFSET ?`,
        limit,
        offset,
      )
      .toArray()
      .map(toEntry);
  }

  /** The highest seq of the conversation this inbox has (0 when none). */
  maxSeq(conversationId: string): number {
    return cachedNumber(this.maxSeqCache, conversationId, () =>
      this.sql
        .exec<{ value: number }>(
          "SELECT max_seq AS value FROM inbox WHERE conversation_id = ?",
          conversationId,
        )
        .toArray(),
    );
  }

  /**
   * Records the messages of a delivery that are new to this inbox (seq above its max_seq) and
   * returns them; a repeated delivery returns nothing. One upsert. A new message shows a hidden
   * conversation again.
   */
  apply(delivery: Delivery, peerId: string): DeliveredMessage[] {
    const known = this.maxSeq(delivery.conversationId);
    const fresh = delivery.messages.filter((m) => m.seq > known);
    const last = fresh[fresh.length - 1];
    if (!last) return [];
    // Nothing before the recipient's first visible seq (a group they just joined) is unread, and
    // sending a message means having read the conversation up to it.
    let readSeq = delivery.visibleFrom - 1;
    const mentions: number[] = [];
    for (const m of fresh) {
      if (m.senderId === delivery.recipientId) readSeq = m.seq;
      else if (m.mentionAll || m.mentionUserIds?.includes(delivery.recipientId)) mentions.push(m.seq);
    }
    const mentionSeq = mentions[mentions.length - 1] ?? 0;
    this.sql.exec(
      `INSERT INTO inbox (conversation_id, conversation_type, peer_id, max_seq, read_seq, last_message, last_time, mention_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET
           max_seq = excluded.max_seq, read_seq = MAX(read_seq, excluded.read_seq),
           last_message = excluded.last_message, last_time = excluded.last_time, hidden = 0,
           mention_seq = MAX(mention_seq, excluded.mention_seq)`,
      delivery.conversationId,
      delivery.conversationType,
      peerId,
      last.seq,
      readSeq,
      last.info,
      last.serverTime,
      mentionSeq,
    );
    if (mentions.length > 0) this.keepMentions(delivery.conversationId, mentions);
    // Only once written: a failed write leaves the cached watermark as it was.
    this.maxSeqCache.set(delivery.conversationId, last.seq);
    return fresh;
  }

  /** Records unread mentions (a rare delivery: most carry none), keeping the newest MENTIONS_KEPT. */
  private keepMentions(conversationId: string, seqs: readonly number[]): void {
    for (const seq of seqs)
      this.sql.exec(
        "INSERT OR IGNORE INTO inbox_mentions (conversation_id, seq) VALUES (?, ?)",
        conversationId,
        seq,
      );
    // Read ones say nothing any more; beyond the newest MENTIONS_KEPT, nothing is needed.
    this.sql.exec(
      `DELETE FROM inbox_mentions WHERE conversation_id = ?1 AND (
         seq <= (SELECT read_seq FROM inbox WHERE conversation_id = ?1)
         OR seq NOT IN (SELECT seq FROM inbox_mentions WHERE conversation_id = ?1 ORDER BY seq DESC LIMIT ?2))`,
      conversationId,
      MENTIONS_KEPT,
    );
  }

  /**
   * A message was revoked: if it mentioned the user, it no longer does, and the conversation's
   * mention falls back to the newest one left (0: none), so the list shows no mention of it and a
   * mute lets no notification of it through. One look-up for any other message.
   */
  forgetMention(conversationId: string, seq: number): void {
    const cursor = this.sql.exec(
      "DELETE FROM inbox_mentions WHERE conversation_id = ? AND seq = ?",
      conversationId,
      seq,
    );
    if (cursor.rowsWritten === 0) return;
    this.sql.exec(
      `UPDATE inbox SET mention_seq = COALESCE(
         (SELECT MAX(seq) FROM inbox_mentions WHERE conversation_id = ?1), 0)
       WHERE conversation_id = ?1 AND mention_seq = ?2`,
      conversationId,
      seq,
    );
  }

  /**
   * Moves the read watermark forward (never back); true when it moved. The conversation object
   * decided the seq, so it may be ahead of this inbox while a delivery is still on its way: the row
   * is created if needed and unread stays max(0, max_seq − read_seq).
   */
  advanceRead(
    conversation: { conversationId: string; conversationType: number; peerId: string },
    seq: number,
    at: number,
  ): boolean {
    const before = this.entry(conversation.conversationId)?.readSeq ?? 0;
    if (seq <= before) return false;
    this.sql.exec(
      `INSERT INTO inbox (conversation_id, conversation_type, peer_id, read_seq, read_time) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET read_seq = excluded.read_seq, read_time = excluded.read_time`,
      conversation.conversationId,
      conversation.conversationType,
      conversation.peerId,
      seq,
      at,
    );
    return true;
  }

  /** Sets pinned / muted / hidden; false when the conversation is not in the inbox. */
  setFlag(conversationId: string, flag: "pinned" | "muted" | "hidden", on: boolean): boolean {
    const cursor = this.sql.exec(
      `UPDATE inbox SET ${flag} = ? WHERE conversation_id = ?`,
      on ? 1 : 0,
      conversationId,
    );
    return cursor.rowsWritten > 0;
  }

  /**
   * Rich changes reached the user (messages changed, the pinned list changed), the conversation's
   * changes up to `modSeq`: the number is kept for BATCH_SYNC (never moving back), and a change to
   * the conversation's last message (an edit) replaces it, so the conversation list shows the new
   * text, unless it already shows a newer state. `info` is the message's SDK fields only: the
   * inbox's last message is what the HTTP API and the SDK's fields show.
   */
  applyChange(
    conversationId: string,
    modSeq: number,
    changed?: { seq: number; info: Uint8Array; modSeq: number },
  ): void {
    this.sql.exec(
      "UPDATE inbox SET mod_seq = MAX(mod_seq, ?) WHERE conversation_id = ?",
      modSeq,
      conversationId,
    );
    if (!changed || changed.seq !== this.maxSeq(conversationId)) return;
    this.sql.exec(
      "UPDATE inbox SET last_message = ?, last_mod_seq = ? WHERE conversation_id = ? AND max_seq = ? AND last_mod_seq < ?",
      changed.info,
      changed.modSeq,
      conversationId,
      changed.seq,
      changed.modSeq,
    );
  }

  /**
   * A revoke of the message at `seq` took change `modSeq`, in one write: the conversation's change
   * number moves to it (BATCH_SYNC shows it), and when that message is the last one (applyRevoke
   * showed it revoked) so does the last message's, so that a change read before the revoke and
   * arriving after it cannot bring the old state back.
   */
  applyRevokeChange(conversationId: string, seq: number, modSeq: number): void {
    this.sql.exec(
      `UPDATE inbox SET mod_seq = MAX(mod_seq, ?),
         last_mod_seq = CASE WHEN max_seq = ? THEN MAX(last_mod_seq, ?) ELSE last_mod_seq END
       WHERE conversation_id = ?`,
      modSeq,
      seq,
      modSeq,
      conversationId,
    );
  }

  /** Shows a revoke in the conversation's last message when it is the one revoked. */
  applyRevoke(push: RevokePush): void {
    const entry = this.entry(push.conversationId);
    if (!entry?.lastMessage) return;
    const last = pb.MessageInfo.decode(entry.lastMessage);
    if (last.serverMsgId !== push.serverMsgId) return;
    const revoked: MessageInfo = {
      ...last,
      content: new Uint8Array(),
      isRevoked: true,
      revokedBy: push.revokedBy,
      revokedTime: push.revokedTime,
    };
    this.sql.exec(
      "UPDATE inbox SET last_message = ? WHERE conversation_id = ?",
      pb.MessageInfo.encode(revoked).finish(),
      push.conversationId,
    );
  }
}
