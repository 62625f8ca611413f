// What each device already holds, per conversation. The iOS SDK's only sync cursor is the max_seq
// of its last BATCH_SYNC answer (IMMessageSyncManager.swift): the messages it then receives as
// pushes, and the ones it sends, never move it. So each reconnect would give it again what it
// already holds, and the SDK counts every message it is given as a new unread one
// (IMConversationManager.updateConversationLastMessage): unread counts drift up, revoked messages
// come back. The server therefore learns, per device and conversation, the seq below which the
// device holds every message (from its acks, its own sends, and the sync answers those acks show
// it received), and a BATCH_SYNC of a client that does not follow has_more starts after it.
//
// A device is a login session on a platform: each app login starts its own session (src/auth/
// sessions.ts), and at most one live connection per user and platform is the default policy.
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE device_cursors (
     device TEXT NOT NULL,
     conversation_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (device, conversation_id)
   ) WITHOUT ROWID`,
];

/** Pushes per socket remembered until acked; an ack for one forgotten only leaves a cursor behind. */
export const TRACKED_PUSHES_PER_SOCKET = 2_000;
/** Sync answers per socket waiting for an ack to show they arrived. */
export const TRACKED_ANSWERS_PER_SOCKET = 2_000;
/** Held seqs per socket beyond a cursor (a hole not yet filled), across its conversations. */
export const HELD_AHEAD_PER_SOCKET = 5_000;
/** How long cursor moves gather in memory before they are written. */
export const CURSOR_FLUSH_MS = 1_000;
/** Cursors of a device not seen for longer than an access token lives are dropped. */
export const CURSOR_RETENTION_MS = 31 * 86_400_000;

interface Answer {
  order: number;
  conversationId: string;
  fromSeq: number;
  toSeq: number;
}

/** What one socket was sent and has not yet shown it received. In memory: a socket lives with its object. */
interface Track {
  device: string;
  order: number;
  pushes: Map<string, { order: number; conversationId: string; seq: number }>;
  answers: Answer[];
  ahead: Map<string, Set<number>>;
  aheadCount: number;
}

export class DeviceCursors {
  private readonly cache = new Map<string, number>();
  private readonly dirty = new Map<string, { device: string; conversationId: string }>();
  private readonly tracks = new WeakMap<WebSocket, Track>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "device_cursors", SCHEMA);
  }

  /** The device key of a socket's login session and platform. */
  static device(loginSessionId: string, platform: string): string {
    return `${loginSessionId}:${platform.toLowerCase()}`;
  }

  /** The seq below which `device` holds every message of the conversation; 0 when unknown. */
  held(device: string, conversationId: string): number {
    const key = `${device}\n${conversationId}`;
    let seq = this.cache.get(key);
    if (seq === undefined) {
      const row = this.sql
        .exec<{ seq: number }>(
          "SELECT seq FROM device_cursors WHERE device = ? AND conversation_id = ?",
          device,
          conversationId,
        )
        .toArray()[0];
      seq = row?.seq ?? 0;
      this.cache.set(key, seq);
    }
    return seq;
  }

  /** The device listed `lastSeq` in a BATCH_SYNC: it holds everything up to there. */
  listed(ws: WebSocket, device: string, conversationId: string, lastSeq: number): void {
    this.raise(this.track(ws, device), conversationId, lastSeq);
  }

  /** A sync answer gave the socket `fromSeq`..`toSeq`; it counts once a later push is acked. */
  answered(ws: WebSocket, device: string, conversationId: string, fromSeq: number, toSeq: number): void {
    if (toSeq < fromSeq) return;
    const track = this.track(ws, device);
    track.answers.push({ order: ++track.order, conversationId, fromSeq, toSeq });
    if (track.answers.length > TRACKED_ANSWERS_PER_SOCKET) track.answers.shift();
  }

  /** Messages pushed to the socket, so its acks can be placed. */
  pushed(
    ws: WebSocket,
    device: string,
    conversationId: string,
    messages: readonly { serverMsgId: string; seq: number }[],
  ): void {
    const track = this.track(ws, device);
    const order = ++track.order;
    for (const { serverMsgId, seq } of messages) {
      track.pushes.set(serverMsgId, { order, conversationId, seq });
      if (track.pushes.size > TRACKED_PUSHES_PER_SOCKET) {
        const oldest = track.pushes.keys().next().value;
        if (oldest !== undefined) track.pushes.delete(oldest);
      }
    }
  }

  /** The device sent this message and had its answer: it holds it. */
  sent(ws: WebSocket, device: string, conversationId: string, seq: number): void {
    this.hold(this.track(ws, device), conversationId, seq);
  }

  /**
   * The device acked a push: it holds that message, and it received every sync answer sent on
   * the socket before the push (a connection delivers frames in order).
   */
  acked(ws: WebSocket, serverMsgId: string): void {
    const track = this.tracks.get(ws);
    const push = track?.pushes.get(serverMsgId);
    if (!track || !push) return;
    track.pushes.delete(serverMsgId);
    const before = track.answers.filter((a) => a.order < push.order);
    if (before.length > 0) {
      track.answers = track.answers.filter((a) => a.order > push.order);
      for (const answer of before) {
        // An answer extends what is held only where it joins it (a gap fill may not).
        if (answer.fromSeq <= this.held(track.device, answer.conversationId) + 1)
          this.raise(track, answer.conversationId, answer.toSeq);
      }
    }
    this.hold(track, push.conversationId, push.seq);
  }

  /** Writes what moved; called when the socket closes too. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    for (const [key, { device, conversationId }] of this.dirty) {
      this.sql.exec(
        `INSERT INTO device_cursors (device, conversation_id, seq, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (device, conversation_id) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at`,
        device,
        conversationId,
        this.cache.get(key) ?? 0,
        now,
      );
    }
    this.dirty.clear();
  }

  /** Drops the cursors of devices gone longer than a token lives (once per authentication). */
  prune(now: number): void {
    this.sql.exec("DELETE FROM device_cursors WHERE updated_at < ?", now - CURSOR_RETENTION_MS);
  }

  private track(ws: WebSocket, device: string): Track {
    let track = this.tracks.get(ws);
    if (!track || track.device !== device) {
      track = { device, order: 0, pushes: new Map(), answers: [], ahead: new Map(), aheadCount: 0 };
      this.tracks.set(ws, track);
    }
    return track;
  }

  /** One more message held: the cursor moves when it is the next one, else it waits beyond. */
  private hold(track: Track, conversationId: string, seq: number): void {
    const cursor = this.held(track.device, conversationId);
    if (seq <= cursor) return;
    if (seq === cursor + 1) return this.raise(track, conversationId, seq);
    let ahead = track.ahead.get(conversationId);
    if (!ahead) {
      ahead = new Set();
      track.ahead.set(conversationId, ahead);
    }
    if (track.aheadCount < HELD_AHEAD_PER_SOCKET && !ahead.has(seq)) {
      ahead.add(seq);
      track.aheadCount++;
    }
  }

  /** Moves the cursor to at least `seq`, then over the held seqs that now join it. */
  private raise(track: Track, conversationId: string, seq: number): void {
    const key = `${track.device}\n${conversationId}`;
    let cursor = Math.max(this.held(track.device, conversationId), seq);
    const ahead = track.ahead.get(conversationId);
    if (ahead) {
      for (const s of [...ahead]) {
        if (s <= cursor) {
          ahead.delete(s);
          track.aheadCount--;
        }
      }
      while (ahead.delete(cursor + 1)) {
        cursor++;
        track.aheadCount--;
      }
      if (ahead.size === 0) track.ahead.delete(conversationId);
    }
    if (cursor === this.cache.get(key)) return;
    this.cache.set(key, cursor);
    this.dirty.set(key, { device: track.device, conversationId });
    this.timer ??= setTimeout(() => this.flush(), CURSOR_FLUSH_MS);
  }
}
