// What each device already holds, per conversation. The iOS SDK's only sync cursor is the max_seq
// of its last BATCH_SYNC answer (IMMessageSyncManager.swift): the messages it then receives as
// pushes, and the ones it sends, never move it. So each reconnect would give it again what it
// already holds, and the SDK counts every message it is given as a new unread one
// (IMConversationManager.updateConversationLastMessage): unread counts drift up, revoked messages
// come back. The server therefore learns, per device and conversation, the seq below which the
// device holds every message: from the cursor it lists (it stores exactly the max_seq of each
// answer it processed), then its acks and its own sends, contiguous from there. A sync answer
// alone counts for nothing until the device lists its max_seq: the SDK may drop an answer (its
// 30 s timeout, a second sync in flight), so only its own cursor says it stored one.
//
// A device is a login session on a platform: each app login starts its own session (src/auth/
// sessions.ts), and at most one live connection per user and platform is the default policy.
import { migrate } from "../sql-migrations";
import { GatheredWrite } from "../../lib/gathered-write";
import { liveSocket, type PushesAwaitingAck } from "./socket-state";

const SCHEMA = [
  `CREATE TABLE device_cursors (
     device TEXT NOT NULL,
     conversation_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (device, conversation_id)
   ) WITHOUT ROWID`,
  // The run of acked seqs beyond the cursor (a catch-up after an answer the device has not listed
  // yet): it joins the cursor once the device lists that answer's max_seq.
  `ALTER TABLE device_cursors ADD COLUMN ahead_from INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE device_cursors ADD COLUMN ahead_to INTEGER NOT NULL DEFAULT 0`,
];

/** Pushes per socket remembered until acked; an ack for one forgotten only leaves a cursor behind. */
export const TRACKED_PUSHES_PER_SOCKET = 2_000;
/** Cursors kept in memory; past it the least recently used are dropped (their rows stay). */
export const CACHED_CURSORS = 10_000;
/**
 * While acks flow, cursor moves gather for this long before they are written; a quiet device's
 * move is written at the end of its ack's turn (lib/gathered-write.ts).
 */
export const CURSOR_FLUSH_MS = 1_000;
/** Cursors of a device not seen for longer than an access token lives are dropped. */
export const CURSOR_RETENTION_MS = 31 * 86_400_000;
/** How often an object looks for such cursors (a scan of its cursor table). */
const PRUNE_EVERY_MS = 86_400_000;

/** A device's holdings in one conversation: every seq up to `seq`, and the run `aheadFrom`..`aheadTo`. */
interface Cursor {
  device: string;
  conversationId: string;
  seq: number;
  aheadFrom: number;
  aheadTo: number;
}

export class DeviceCursors {
  private readonly cache = new Map<string, Cursor>();
  private readonly dirty = new Set<string>();
  private readonly write = new GatheredWrite(CURSOR_FLUSH_MS, () => this.writeDirty());
  private prunedAt = 0;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "device_cursors", SCHEMA);
  }

  /** The device key of a socket's login session and platform. */
  static device(loginSessionId: string, platform: string): string {
    return `${loginSessionId}:${platform.toLowerCase()}`;
  }

  /** The seq below which `device` holds every message of the conversation; 0 when unknown. */
  held(device: string, conversationId: string): number {
    return this.cursor(device, conversationId).seq;
  }

  /** The device listed `lastSeq` in a BATCH_SYNC: it stored every answer up to there. */
  listed(device: string, conversationId: string, lastSeq: number): void {
    const cursor = this.cursor(device, conversationId);
    if (lastSeq > cursor.seq) this.moved(cursor, lastSeq);
  }

  /** Messages pushed to the socket, so its acks can be placed. */
  pushed(
    ws: WebSocket,
    device: string,
    conversationId: string,
    messages: readonly { serverMsgId: string; seq: number }[],
  ): void {
    const track = this.track(ws, device);
    for (const { serverMsgId, seq } of messages) {
      // The first copy's entry stays: a later copy (a catch-up of a live push) changes nothing.
      if (track.pushes.has(serverMsgId)) continue;
      track.pushes.set(serverMsgId, { conversationId, seq });
      if (track.pushes.size > TRACKED_PUSHES_PER_SOCKET) {
        const oldest = track.pushes.keys().next().value;
        if (oldest !== undefined) track.pushes.delete(oldest);
      }
    }
  }

  /** The device sent this message and had its answer: it holds it. */
  sent(device: string, conversationId: string, seq: number): void {
    this.hold(this.cursor(device, conversationId), seq);
  }

  /** The device acked a push: it holds that message. */
  acked(ws: WebSocket, serverMsgId: string): void {
    const track = liveSocket(ws).pushesAwaitingAck;
    const push = track?.pushes.get(serverMsgId);
    if (!track || !push) return;
    track.pushes.delete(serverMsgId);
    this.hold(this.cursor(track.device, push.conversationId), push.seq);
  }

  /** A device that lists nothing starts over (a new install, a reset store): it holds nothing. */
  forget(device: string): void {
    this.sql.exec("DELETE FROM device_cursors WHERE device = ?", device);
    for (const [key, cursor] of [...this.cache]) {
      if (cursor.device !== device) continue;
      this.cache.delete(key);
      this.dirty.delete(key);
    }
  }

  /** Writes what moved now (the socket closes). */
  flush(): void {
    this.write.now();
  }

  private writeDirty(): void {
    const now = Date.now();
    for (const key of this.dirty) {
      const c = this.cache.get(key);
      if (!c) continue;
      this.sql.exec(
        `INSERT INTO device_cursors (device, conversation_id, seq, ahead_from, ahead_to, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (device, conversation_id) DO UPDATE SET seq = excluded.seq,
           ahead_from = excluded.ahead_from, ahead_to = excluded.ahead_to, updated_at = excluded.updated_at`,
        c.device,
        c.conversationId,
        c.seq,
        c.aheadFrom,
        c.aheadTo,
        now,
      );
    }
    this.dirty.clear();
  }

  /** Drops the cursors of devices gone longer than a token lives (at most once a day per object). */
  prune(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    this.sql.exec("DELETE FROM device_cursors WHERE updated_at < ?", now - CURSOR_RETENTION_MS);
  }

  private cursor(device: string, conversationId: string): Cursor {
    const key = `${device}\n${conversationId}`;
    let cursor = this.cache.get(key);
    if (cursor) {
      // Most recently used last, so the first entries are the ones to drop.
      this.cache.delete(key);
      this.cache.set(key, cursor);
      return cursor;
    }
    const row = this.sql
      .exec<{ seq: number; ahead_from: number; ahead_to: number }>(
        "SELECT seq, ahead_from, ahead_to FROM device_cursors WHERE device = ? AND conversation_id = ?",
        device,
        conversationId,
      )
      .toArray()[0];
    cursor = {
      device,
      conversationId,
      seq: row?.seq ?? 0,
      aheadFrom: row?.ahead_from ?? 0,
      aheadTo: row?.ahead_to ?? 0,
    };
    this.cache.set(key, cursor);
    if (this.cache.size > CACHED_CURSORS) {
      for (const [oldKey] of this.cache) {
        if (this.cache.size <= CACHED_CURSORS) break;
        if (this.dirty.has(oldKey)) continue; // written first, at the next flush
        this.cache.delete(oldKey);
      }
    }
    return cursor;
  }

  private track(ws: WebSocket, device: string): PushesAwaitingAck {
    const socket = liveSocket(ws);
    if (socket.pushesAwaitingAck?.device !== device) socket.pushesAwaitingAck = { device, pushes: new Map() };
    return socket.pushesAwaitingAck;
  }

  /**
   * One more message held: the cursor moves when it is the next one; beyond, it extends the run
   * ahead (a newer run replaces an older one, which costs only a repeat, never a skip).
   */
  private hold(cursor: Cursor, seq: number): void {
    if (seq <= cursor.seq) return;
    if (seq === cursor.seq + 1) return this.moved(cursor, seq);
    if (cursor.aheadTo > 0 && seq >= cursor.aheadFrom && seq <= cursor.aheadTo) return;
    if (cursor.aheadTo > 0 && seq === cursor.aheadTo + 1) cursor.aheadTo = seq;
    else if (cursor.aheadTo === 0 || seq > cursor.aheadTo) {
      cursor.aheadFrom = seq;
      cursor.aheadTo = seq;
    } else return;
    this.changed(cursor);
  }

  /** The cursor reaches `seq`, then the run ahead when it now joins it. */
  private moved(cursor: Cursor, seq: number): void {
    cursor.seq = Math.max(cursor.seq, seq);
    if (cursor.aheadTo > 0 && cursor.aheadFrom <= cursor.seq + 1) {
      cursor.seq = Math.max(cursor.seq, cursor.aheadTo);
      cursor.aheadFrom = 0;
      cursor.aheadTo = 0;
    }
    this.changed(cursor);
  }

  private changed(cursor: Cursor): void {
    this.dirty.add(`${cursor.device}\n${cursor.conversationId}`);
    this.write.request();
  }
}
