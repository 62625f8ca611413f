// The conversation's own SQLite, rich-message side (docs/RICH-MESSAGES.md): the change numbers in
// `meta`, who reacted with what, the earlier contents of edited messages, and the pinned list. The
// tables are the messages migration's (message-tables.ts); the message rows themselves, with their
// `ext` and `mod_seq`, stay in message-store.ts.
import type { EditVersion, Pin, ReactionSummary } from "../rpc";
import { migrateMessages } from "./message-tables";

/** Users one Reaction lists (its count stays exact). */
export const REACTION_USERS_LISTED = 100;

export class RichStore {
  private readonly sql: SqlStorage;
  private cachedModSeq: number | null = null;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrateMessages(this.sql);
  }

  /** The newest change number (0: nothing ever changed). */
  modSeq(): number {
    this.cachedModSeq ??= this.metaNumber("modSeq");
    return this.cachedModSeq;
  }

  /** The change number the pinned list last changed at. */
  pinsModSeq(): number {
    return this.metaNumber("pinsModSeq");
  }

  /**
   * Takes the next change number, in the caller's transaction: changes are gapless and ordered like
   * the transactions that make them. The cache is dropped rather than set: the transaction may still
   * roll back, and the next read after it takes the committed number.
   */
  nextModSeq(): number {
    const next = this.metaNumber("modSeq") + 1;
    this.setMeta("modSeq", next);
    this.cachedModSeq = null;
    return next;
  }

  // ---- reactions ----

  /** The message's reactions, by each emoji's first reaction: exact counts, the first users. */
  reactions(seq: number): ReactionSummary[] {
    const emojis = this.sql
      .exec<{ emoji: string; n: number }>(
        "SELECT emoji, COUNT(*) AS n, MIN(rowid) AS first FROM reactions WHERE seq = ? GROUP BY emoji ORDER BY first",
        seq,
      )
      .toArray();
    return emojis.map(({ emoji, n }) => ({
      emoji,
      count: n,
      userIds: this.sql
        .exec<{ user_id: string }>(
          "SELECT user_id FROM reactions WHERE seq = ? AND emoji = ? ORDER BY rowid LIMIT ?",
          seq,
          emoji,
          REACTION_USERS_LISTED,
        )
        .toArray()
        .map((r) => r.user_id),
    }));
  }

  hasReaction(seq: number, emoji: string, userId: string): boolean {
    return (
      this.sql
        .exec("SELECT 1 FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?", seq, emoji, userId)
        .toArray().length > 0
    );
  }

  hasEmoji(seq: number, emoji: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM reactions WHERE seq = ? AND emoji = ? LIMIT 1", seq, emoji).toArray()
        .length > 0
    );
  }

  /** Distinct emojis on the message, and how many of them are `userId`'s. */
  reactionCounts(seq: number, userId: string): { emojis: number; own: number } {
    const emojis = this.sql
      .exec<{ n: number }>("SELECT COUNT(DISTINCT emoji) AS n FROM reactions WHERE seq = ?", seq)
      .one().n;
    const own = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM reactions WHERE seq = ? AND user_id = ?", seq, userId)
      .one().n;
    return { emojis, own };
  }

  addReaction(seq: number, emoji: string, userId: string, at: number): void {
    this.sql.exec(
      "INSERT INTO reactions (seq, emoji, user_id, at) VALUES (?, ?, ?, ?)",
      seq,
      emoji,
      userId,
      at,
    );
  }

  removeReaction(seq: number, emoji: string, userId: string): void {
    this.sql.exec("DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?", seq, emoji, userId);
  }

  // ---- edits ----

  /** Keeps a content the edit replaces, as version `version` (1: the original). */
  keepEdit(seq: number, version: number, content: Uint8Array, replacedTime: number): void {
    this.sql.exec(
      "INSERT INTO edits (seq, version, content, replaced_time) VALUES (?, ?, ?, ?)",
      seq,
      version,
      content,
      replacedTime,
    );
  }

  /**
   * The message's earlier contents before `beforeVersion` (0: all), newest first, read one at a time
   * so a caller cutting them to a budget reads no further than it keeps.
   */
  *editsNewestFirst(seq: number, beforeVersion: number): Generator<EditVersion> {
    const rows = this.sql.exec<{ version: number; content: ArrayBuffer; replaced_time: number }>(
      "SELECT version, content, replaced_time FROM edits WHERE seq = ? AND version < ? ORDER BY version DESC",
      seq,
      beforeVersion > 0 ? beforeVersion : Number.MAX_SAFE_INTEGER,
    );
    for (const r of rows)
      yield { version: r.version, content: new Uint8Array(r.content), replacedTime: r.replaced_time };
  }

  /** A revoked message keeps none of its earlier contents either. */
  forgetEdits(seq: number): void {
    this.sql.exec("DELETE FROM edits WHERE seq = ?", seq);
  }

  // ---- pins ----

  /** The pinned list, newest pin first. */
  pins(): Pin[] {
    return this.sql
      .exec<{ seq: number; server_msg_id: string; pinned_by: string; pinned_time: number }>(
        `SELECT p.seq, m.server_msg_id, p.pinned_by, p.pinned_time
         FROM pins p JOIN messages m ON m.seq = p.seq ORDER BY p.pinned_time DESC, p.seq DESC`,
      )
      .toArray()
      .map((r) => ({
        serverMsgId: r.server_msg_id,
        seq: r.seq,
        pinnedBy: r.pinned_by,
        pinnedTime: r.pinned_time,
      }));
  }

  isPinned(seq: number): boolean {
    return this.sql.exec("SELECT 1 FROM pins WHERE seq = ?", seq).toArray().length > 0;
  }

  pinCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pins").one().n;
  }

  /** Pins or unpins, and takes the next change number as the pinned list's (in the caller's transaction). */
  setPinned(seq: number, pinned: { by: string; at: number } | null): number {
    if (pinned)
      this.sql.exec(
        "INSERT INTO pins (seq, pinned_by, pinned_time) VALUES (?, ?, ?)",
        seq,
        pinned.by,
        pinned.at,
      );
    else this.sql.exec("DELETE FROM pins WHERE seq = ?", seq);
    const modSeq = this.nextModSeq();
    this.setMeta("pinsModSeq", modSeq);
    return modSeq;
  }

  private metaNumber(key: string): number {
    return Number(
      this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? 0,
    );
  }

  private setMeta(key: string, value: number): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      String(value),
    );
  }
}
