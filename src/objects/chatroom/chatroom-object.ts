// ChatroomObject: one per room (`chatroom_<roomId>`). The single writer of the room's messages: it
// sequences each send (gapless seq), stores it and answers only once it is stored, then hands it to
// every relay that holds listeners (relay-pumps.ts). It keeps which relays exist and how many
// listeners each holds (relay-loads.ts) to place each new listener, and never waits for a listener.
// No membership rows, no per-listener state: that is the relays' (chatroom-relay.ts).
import { DurableObject } from "cloudflare:workers";
import { readSettings, type ChatroomSettings } from "../../config/settings";
import { Err } from "../../protocol/codec";
import { logEvent } from "../../observability/log";
import { relayObjectName, roomIdOfName } from "./names";
import { newestWithinBytes, oldestWithinBytes } from "./page-bytes";
import { MAX_RELAYS, RelayLoads } from "./relay-loads";
import { RelayPumps } from "./relay-pumps";
import { MAX_HISTORY_PAGE, RoomMessages } from "./room-messages";
import { RoomMeta } from "./room-meta";
import { namedObjects } from "../object-ids";
import { SenderLimits } from "./sender-limits";
import type { Admission, ChatroomMeta, HistoryPage, JoinSnapshot, RoomSend, RoomSendResult } from "./types";

/** Recent messages a new listener gets with CHATROOM_JOINED. */
export const JOIN_RECENT = 50;
/** A failed relay call is retried from the alarm after this, doubling up to RETRY_MAX_MS. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/**
 * Before answering "full" the room asks its relays what they really hold, at most this often: a
 * lost report, or sockets a deploy dropped without a close event, must not keep a room full forever.
 */
export const RECOUNT_EVERY_MS = 10_000;

export class ChatroomObject extends DurableObject<Env> {
  private readonly meta: RoomMeta;
  private readonly messages: RoomMessages;
  private readonly loads: RelayLoads;
  private readonly pumps: RelayPumps;
  /** Relay objects' ids by number: the room calls its relays again and again. */
  private readonly stubs = namedObjects(
    () => this.env.CHATROOM_RELAY,
    (n: number) => relayObjectName(this.roomId(), n),
    MAX_RELAYS,
  );
  private limits: SenderLimits | null = null;
  private cachedSettings: ChatroomSettings | null = null;
  /** Relays not yet told the room closed (a failed call), retried from the alarm. */
  private readonly closesPending = new Set<number>();
  private retryDelayMs = RETRY_BASE_MS;
  private lastRecount = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.meta = new RoomMeta(ctx.storage.sql);
    this.messages = new RoomMessages(ctx.storage);
    this.loads = new RelayLoads(ctx.storage.sql);
    this.pumps = new RelayPumps(
      {
        messages: this.messages,
        deliver: (n, batch) => this.stubs.call(n, (relay) => relay.deliver(batch)),
        onCount: (relay, listeners) => this.loads.reported(relay, listeners),
        onFailure: (relay, error) => {
          logEvent(
            "warn",
            "chatroom_relay_failed",
            { conversationId: this.roomName(), reason: `relay ${relay}` },
            error,
          );
          this.scheduleRetry();
        },
      },
      this.meta.isClosed() ? [] : this.loads.busy(),
    );
    // Closed while some relay was not told: a restart tells them all again (telling twice is harmless).
    if (this.meta.isClosed()) for (const relay of this.loads.busy()) this.closesPending.add(relay);
    if (this.closesPending.size > 0) this.scheduleRetry();
    // What was stored just before a restart may not have reached the relays (relay-pumps.ts).
    else this.pumps.kick(this.loads.busy());
  }

  private settings(): ChatroomSettings {
    this.cachedSettings ??= readSettings(this.env).chatroom;
    return this.cachedSettings;
  }

  private roomName(): string {
    return this.ctx.id.name ?? `chatroom_${this.meta.get()?.id ?? "?"}`;
  }

  private roomId(): string {
    return this.meta.get()?.id ?? roomIdOfName(this.ctx.id.name) ?? "";
  }

  /** Worker -> room, before an upgrade: the relay for a new listener, or why not. */
  async admit(meta: ChatroomMeta): Promise<Admission> {
    if (this.meta.isClosed()) return { ok: false, status: 404, message: "chatroom closed" };
    this.meta.learn(meta);
    const { listenersPerRelay, maxListeners } = this.settings();
    let relay = this.loads.choose(listenersPerRelay, maxListeners);
    if (relay === null && (await this.recount())) relay = this.loads.choose(listenersPerRelay, maxListeners);
    if (this.meta.isClosed()) return { ok: false, status: 404, message: "chatroom closed" };
    if (relay === null) return { ok: false, status: 503, message: "chatroom full" };
    if (this.loads.listenersOf(relay) === 0) this.pumps.start(relay);
    this.loads.admitted(relay);
    return { ok: true, relay };
  }

  /** Asks every relay for its real count (at most once every RECOUNT_EVERY_MS); true when it asked. */
  private async recount(): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastRecount < RECOUNT_EVERY_MS) return false;
    this.lastRecount = now;
    const relays = this.loads.all();
    const counts = await Promise.allSettled(
      relays.map((n) => this.stubs.call(n, (relay) => relay.listenerCount())),
    );
    counts.forEach((count, i) => {
      if (count.status === "fulfilled") this.loads.reported(relays[i] as number, count.value);
    });
    return true;
  }

  /** Relay -> room, as it accepts a listener: what CHATROOM_JOINED tells it. */
  snapshot(): JoinSnapshot {
    const meta = this.meta.get();
    if (!meta || this.meta.isClosed()) return { ok: false, status: 404, message: "chatroom closed" };
    return {
      ok: true,
      name: meta.name,
      maxSeq: this.messages.maxSeq(),
      recent: newestWithinBytes(this.messages.recent(JOIN_RECENT)),
      listeners: this.loads.total(),
    };
  }

  /** Relay -> room: one listener's send. Answered once it is stored (the ack means durable). */
  send(senderId: string, input: RoomSend): RoomSendResult {
    if (this.meta.isClosed() || !this.meta.get())
      return { ok: false, code: Err.ERR_CONVERSATION_NOT_EXIST, message: "chatroom closed" };
    const settings = this.settings();
    if (input.content.byteLength > settings.messageMaxBytes)
      return {
        ok: false,
        code: Err.ERR_MESSAGE_TOO_LARGE,
        message: `content exceeds ${settings.messageMaxBytes} bytes`,
      };
    // A resend is answered with what was stored, before the rate limit: it costs nothing new.
    const kept = this.messages.find(senderId, input.clientMsgId);
    if (kept)
      return {
        ok: true,
        serverMsgId: kept.serverMsgId,
        seq: kept.seq,
        serverTime: kept.serverTime,
        duplicate: true,
      };
    this.limits ??= new SenderLimits(settings.sendPerSecond, settings.sendBurst);
    if (!this.limits.take(senderId))
      return {
        ok: false,
        code: Err.ERR_SEND_TOO_FAST,
        message: `sending too fast: at most ${settings.sendPerSecond} a second in a room`,
      };
    const stored = this.messages.append(senderId, input, settings.historyKeep);
    this.pumps.kick(this.loads.busy());
    return {
      ok: true,
      serverMsgId: stored.serverMsgId,
      seq: stored.seq,
      serverTime: stored.serverTime,
      duplicate: false,
    };
  }

  /** Relay -> room: kept messages after `afterSeq` (a listener filling a gap). */
  history(afterSeq: number, limit: number): HistoryPage {
    const max = this.messages.maxSeq();
    const page = oldestWithinBytes(
      this.messages.range(afterSeq, max, Math.min(Math.max(limit, 1), MAX_HISTORY_PAGE)),
    );
    const last = page[page.length - 1];
    return { messages: page, hasMore: last !== undefined && last.seq < max };
  }

  /** Relay -> room: how many listeners it holds now (absolute). */
  report(relay: number, listeners: number): void {
    this.loads.reported(relay, listeners);
  }

  /** Worker -> room: approximate listener count (GET /api/chatrooms/:id). */
  listeners(): number {
    return this.loads.total();
  }

  /** Worker -> room (DELETE): refuses every later join and send, and closes every listener. */
  async close(roomId: string, reason: string): Promise<void> {
    this.meta.close(roomId);
    this.messages.clear();
    for (const relay of this.loads.all()) this.closesPending.add(relay);
    await this.tellClosed(reason);
  }

  private async tellClosed(reason: string): Promise<void> {
    const relays = [...this.closesPending];
    const results = await Promise.allSettled(
      relays.map((n) => this.stubs.call(n, (relay) => relay.roomClosed(this.roomId(), reason))),
    );
    results.forEach((result, i) => {
      const relay = relays[i] as number;
      if (result.status === "fulfilled") {
        this.closesPending.delete(relay);
        this.loads.reported(relay, 0);
      }
    });
    if (this.closesPending.size > 0) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    void this.ctx.storage
      .getAlarm()
      .then((at) => (at === null ? this.ctx.storage.setAlarm(Date.now() + delay) : undefined))
      .catch((error: unknown) =>
        logEvent("error", "chatroom_alarm_failed", { conversationId: this.roomName() }, error),
      );
  }

  /** Retries what failed: relays left behind, and relays not yet told the room closed. */
  override async alarm(): Promise<void> {
    if (this.closesPending.size > 0) await this.tellClosed("chatroom closed");
    const lagging = this.pumps.lagging();
    if (lagging.length > 0 && !this.meta.isClosed()) this.pumps.kick(lagging);
    if (this.closesPending.size === 0 && lagging.length === 0) this.retryDelayMs = RETRY_BASE_MS;
  }
}
