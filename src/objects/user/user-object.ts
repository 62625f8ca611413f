// UserObject: one per user. It holds the user's live sockets (hibernation API), answers their
// frames, keeps the inbox, and takes deliveries from conversation objects to push to devices.
import { SocketReport } from "./socket-report";
import { DurableObject } from "cloudflare:workers";
import { readSettings, type Settings } from "../../config/settings";
import { Cmd, encodeFrame, pb } from "../../protocol/codec";
import {
  AUTH_TIMEOUT_MS,
  CloseCode,
  MAX_FRAME_BYTES,
  MAX_QUEUED_BYTES,
  MAX_QUEUED_FRAMES,
  MAX_ROOM_SOCKETS_PER_USER,
  MAX_SOCKETS_PER_USER,
} from "../../protocol/limits";
import type {
  ChangeBatch,
  Delivery,
  MarkReadResult,
  Presence,
  ReceiptPush,
  RevokePush,
  TypingPush,
} from "../rpc";
import { messageUpdatedFrame, pinsFrame, sendToRich } from "./rich-updates";
import { handleFrames } from "./dispatch";
import { CHANGE_BURST, CHANGES_PER_SECOND } from "./rich-request";
import { FrameQueue } from "./frame-queue";
import { closeEndedSessions, type SessionEnd } from "./kick-out";
import type { UserServices } from "./frame-context";
import { DeliveredMarks } from "./delivered-marks";
import { DeliveryOrder } from "./delivery-order";
import { inboxDelivery } from "./inbox-delivery";
import { DeviceCursors } from "./device-cursors";
import { Inbox, type InboxEntry } from "./inbox";
import { PresenceTracker } from "./presence";
import { PresenceStore } from "./presence-store";
import { markConversationRead } from "./read-state";
import { RecentPushes } from "./recent-pushes";
import { endRoomSockets, forgetClosedRoomSockets } from "./room-socket-relays";
import { RoomSockets } from "./room-sockets";
import { closeSocket, liveSocket, saveSocketState, sendFrame, socketState } from "./socket-state";
import { countInvocation, meterInvocations, meteredStorage } from "../../lib/usage-meter";
import { TokenBucket } from "./token-bucket";
import { namedObjects } from "../object-ids";
import { socketStateFromUpgrade, upgradeAccepted, upgradeRefusal } from "./upgrade";
import { logEvent } from "../../observability/log";
import { PushPreferences, type PushPreferencesJson } from "../../push/preferences";
import { formatMinute, type QuietHours } from "../../push/quiet-hours";
import { PushScheduler, type PushRecheck } from "../../push/scheduler";
import { conversationKind, countMetric, Metric, useMetrics } from "../../observability/metrics";

/** Conversation ids a user's object keeps for its sends (object-ids.ts). */
const CONVERSATION_IDS_KEPT = 256;
/** Typing statuses a user may send a second, and in a burst; the SDK sends one per 5 s. */
const TYPING_RATE_PER_SECOND = 2;
const TYPING_BURST = 5;

/** Longest a revoke waits for its message's delivery before it is applied anyway. */
const REVOKE_WAIT_MS = 10_000;

/**
 * A join refused at the room-socket bound asks the relays which sockets they still hold at most this
 * often: a client retrying at the bound costs no relay calls in between.
 */
const ROOM_SOCKETS_RECHECK_MS = 10_000;

/** RPC answer to a chatroom join: the slot's id for the relay, or why not. */
export type RoomSocketReservation = { ok: true; socketId: string } | { ok: false; message: string };

export class UserObject extends DurableObject<Env> {
  private readonly inbox: Inbox;
  private readonly recentPushes = new RecentPushes();
  private readonly deviceCursors: DeviceCursors;
  private readonly deliveredMarks: DeliveredMarks;
  private readonly presenceStore: PresenceStore;
  private readonly presenceTracker: PresenceTracker;
  private readonly socketReport: SocketReport;
  private readonly deliveryOrder: DeliveryOrder;
  private readonly pushPrefs: PushPreferences;
  private readonly pushScheduler: PushScheduler;
  /** Where the user's chatroom sockets are, to close them when their sessions end. */
  private readonly roomSockets: RoomSockets;
  private roomSocketsCheckedAt = 0;
  /** The alarm being set for a pending notification; a delivery call answers only once it is. */
  private pushArming: Promise<void> = Promise.resolve();
  private cachedServices: UserServices | null = null;
  /** ctx.storage, counted when USAGE_METER is on (src/lib/usage-meter.ts). */
  private readonly storage: DurableObjectStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countInvocation("user", "start");
    this.storage = meteredStorage(ctx.storage, env);
    useMetrics(env);
    this.inbox = new Inbox(this.storage);
    this.deviceCursors = new DeviceCursors(this.storage.sql);
    this.deliveredMarks = new DeliveredMarks(this.storage.sql);
    this.socketReport = new SocketReport(ctx, env);
    // After the inbox: the presence schema moves what the inbox's older tables held.
    this.presenceStore = new PresenceStore(this.storage.sql);
    this.presenceTracker = new PresenceTracker(this.presenceStore, env);
    this.pushPrefs = new PushPreferences(this.storage.sql);
    this.roomSockets = new RoomSockets(this.storage.sql);
    this.pushScheduler = new PushScheduler({
      storage: this.storage,
      env,
      inbox: this.inbox,
      prefs: this.pushPrefs,
      settings: () => this.services().settings.push,
      userId: () => this.userId(),
    });
    this.deliveryOrder = new DeliveryOrder(
      inboxDelivery({
        ctx,
        env,
        inbox: this.inbox,
        recentPushes: this.recentPushes,
        deviceCursors: this.deviceCursors,
        unreached: (delivery, fresh) => {
          const due = this.pushScheduler.note(
            delivery.recipientId,
            delivery.conversationId,
            delivery.conversationType,
            fresh,
          );
          if (due > 0)
            this.pushArming = this.pushArming
              .then(() => this.armAlarm(due))
              .catch((error: unknown) =>
                logEvent("error", "push_alarm_failed", { userId: this.userId() }, error),
              );
        },
      }),
    );
    // A pending notification is written before its alarm is set: a crash between the two left it
    // with no alarm, so the first wake after one sets it (a getAlarm only when push has work due).
    if (this.pushScheduler.nextDueAt() > 0)
      void ctx.blockConcurrencyWhile(async () => {
        const due = this.pushScheduler.nextDueAt();
        if (due > 0 && (await this.storage.getAlarm()) === null) await this.storage.setAlarm(due);
      });
  }

  /** Built on first use: settings are read (and checked) once per instance. */
  private services(): UserServices {
    if (!this.cachedServices) {
      const settings: Settings = readSettings(this.env);
      this.cachedServices = {
        env: this.env,
        ctx: this.ctx,
        settings,
        inbox: this.inbox,
        recentPushes: this.recentPushes,
        deviceCursors: this.deviceCursors,
        sendLimiter: new TokenBucket(settings.sendRatePerSecond, settings.sendBurst),
        typingLimiter: new TokenBucket(TYPING_RATE_PER_SECOND, TYPING_BURST),
        changeLimiter: new TokenBucket(CHANGES_PER_SECOND, CHANGE_BURST),
        broadcast: (frame, exceptSession) => this.broadcast(frame, exceptSession),
        presence: this.presenceTracker,
        deliveredMarks: this.deliveredMarks,
        deliveryOrder: this.deliveryOrder,
        conversations: namedObjects(
          () => this.env.CONVERSATION_OBJECT,
          (id: string) => id,
          CONVERSATION_IDS_KEPT,
        ),
        currentStatus: () => this.status(),
        socketReport: this.socketReport,
        authenticated: (userId) => {
          this.deviceCursors.prune(Date.now());
          this.socketReport.report(userId);
          return this.rearmAlarm();
        },
      };
    }
    return this.cachedServices;
  }

  private broadcast(frame: Uint8Array, exceptSession?: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      const state = socketState(ws);
      if (state.authed && state.sessionId !== exceptSession) sendFrame(ws, frame);
    }
  }

  /** Accepts a WebSocket the worker has already authenticated (src/worker/routes/ws.ts). */
  override async fetch(request: Request): Promise<Response> {
    const state = socketStateFromUpgrade(request);
    if (!state) return upgradeRefusal(400, "expected an authenticated WebSocket upgrade");
    if (this.ctx.getWebSockets().length >= MAX_SOCKETS_PER_USER)
      return upgradeRefusal(429, `too many connections: at most ${MAX_SOCKETS_PER_USER} per user`);
    const { 0: client, 1: server } = new WebSocketPair();
    this.presenceStore.recordUserId(state.userId);
    this.ctx.acceptWebSocket(server);
    saveSocketState(server, state);
    logEvent("info", "socket_opened", {
      userId: state.userId,
      sessionId: state.sessionId,
      platform: state.platform,
    });
    countMetric(Metric.socketsOpened, 1, state.platform);
    await this.armAlarm(state.openedAt + AUTH_TIMEOUT_MS);
    return upgradeAccepted(request, client);
  }

  /**
   * Frames of one socket are handled one after another, in the order they arrived: a handler that
   * waits on another object (a send, a sync) never lets a later frame of the same device overtake
   * it, so a device's messages are stored in the order it sent them and its answers come in order.
   */
  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    // Checked on arrival, before the frame is held: a frame over the limit is never queued.
    const bytes = typeof data === "string" ? data.length : data.byteLength;
    if (bytes > MAX_FRAME_BYTES)
      return closeSocket(ws, CloseCode.tooBig, `frame exceeds ${MAX_FRAME_BYTES} bytes`);
    const socket = liveSocket(ws);
    if (socket.frames?.owner !== this) {
      const queue = new FrameQueue<string | ArrayBuffer>(
        (frames) => handleFrames(this.services(), ws, frames),
        {
          maxFrames: MAX_QUEUED_FRAMES,
          maxBytes: MAX_QUEUED_BYTES,
        },
      );
      socket.frames = { owner: this, queue };
    }
    const handled = socket.frames.queue.push(data, bytes);
    if (!handled) {
      const reason = `too many frames waiting: at most ${MAX_QUEUED_FRAMES} frames or ${MAX_QUEUED_BYTES} bytes`;
      return closeSocket(ws, CloseCode.policyViolation, reason);
    }
    await handled;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeSocket(ws, code === 1005 || code === 1006 ? CloseCode.normal : code, reason);
    // The code only: the reason is the client's text.
    const closed = socketState(ws);
    logEvent("info", "socket_closed", { userId: closed.userId, sessionId: closed.sessionId, code });
    countMetric(Metric.socketsClosed, 1, String(code));
    this.deviceCursors.flush();
    this.deliveredMarks.flush();
    if (closed.authed) this.socketReport.report(closed.userId, ws);
    const stillOnline = this.ctx.getWebSockets().some((other) => other !== ws && socketState(other).authed);
    if (socketState(ws).authed && !stillOnline)
      await this.armAlarm(this.presenceTracker.lastDeviceGone(Date.now()));
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const state = socketState(ws);
    logEvent("warn", "socket_errored", { userId: state.userId, sessionId: state.sessionId }, error);
  }

  /**
   * Closes sockets that did not authenticate in time (PROTOCOL.md, decision 4) and tells friends
   * that the user went offline once the grace period has passed.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const ws of this.ctx.getWebSockets()) {
      const state = socketState(ws);
      if (!state.authed && state.openedAt + AUTH_TIMEOUT_MS <= now)
        closeSocket(ws, CloseCode.policyViolation, "authentication timeout");
    }
    const status = this.status();
    await this.presenceTracker.settle(now, status);
    try {
      await this.pushScheduler.run(now, status.online);
    } catch (error) {
      // The jobs stay in the outbox and go out again once PUSH_REDELIVER_SECONDS have passed.
      logEvent("error", "push_enqueue_failed", { userId: status.userId }, error);
    }
    await this.rearmAlarm();
  }

  /**
   * Sets the alarm for the next thing it is needed for (an authentication deadline, a pending
   * offline announcement) or deletes it. Called when a socket authenticates too: an alarm left
   * for a deadline that no longer matters would wake the object, and open its storage, for
   * nothing, and an awake object holds file descriptors that idle sockets would not.
   */
  private async rearmAlarm(): Promise<void> {
    let next = Infinity;
    for (const ws of this.ctx.getWebSockets()) {
      const state = socketState(ws);
      if (!state.authed && ws.readyState === WebSocket.OPEN)
        next = Math.min(next, state.openedAt + AUTH_TIMEOUT_MS);
    }
    const presenceDue = this.presenceTracker.pendingAt();
    if (presenceDue > 0) next = Math.min(next, presenceDue);
    const pushDue = this.pushScheduler.nextDueAt();
    if (pushDue > 0) next = Math.min(next, pushDue);
    if (next !== Infinity) await this.storage.setAlarm(next);
    else if ((await this.storage.getAlarm()) !== null) await this.storage.deleteAlarm();
  }

  /** Sets the alarm to `at` unless one is already due sooner. */
  private async armAlarm(at: number): Promise<void> {
    const current = await this.storage.getAlarm();
    if (current === null || current > at) await this.storage.setAlarm(at);
  }

  /**
   * The user this object belongs to: its name (every caller reaches it with getByName), or, in an
   * alarm set before Cloudflare kept names with alarms, the id recorded on the first connection.
   */
  private userId(): string {
    return this.ctx.id.name ?? this.presenceStore.userId();
  }

  /** Online when any device is authenticated; its platforms; when it was last seen. */
  private status(): Presence {
    const platforms = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      const state = socketState(ws);
      if (state.authed) platforms.add(state.platform);
    }
    const online = platforms.size > 0;
    return {
      userId: this.userId(),
      online,
      platforms: [...platforms],
      lastSeen: online ? Date.now() : this.presenceStore.lastSeen(),
    };
  }

  /**
   * Logout, a password change or an admin ended these login sessions (all but `keep` when
   * `loginSessionIds` is null), or banned the account (`why`): their sockets get KICK_OUT
   * (reason 2) and close, so a revoked token stops reading at once.
   */
  async endSessions(
    loginSessionIds: readonly string[] | null,
    keep: string | null,
    why: SessionEnd = "ended",
  ): Promise<void> {
    const ended = (id: string) => (loginSessionIds === null ? id !== keep : loginSessionIds.includes(id));
    const closedAuthed = closeEndedSessions(this.ctx.getWebSockets(), ended, why);
    // Those sockets are no longer authenticated, so their close events will not report them.
    if (closedAuthed) this.socketReport.report(this.presenceStore.userId());
    // Friends hear "offline" as after any last device left (webSocketClose skips sockets no
    // longer authenticated).
    const stillOnline = this.ctx.getWebSockets().some((ws) => socketState(ws).authed);
    if (closedAuthed && !stillOnline) await this.armAlarm(this.presenceTracker.lastDeviceGone(Date.now()));
    // Chatroom sockets live on relays: each listed relay closes the ended sessions' sockets.
    await endRoomSockets(
      this.env,
      this.roomSockets,
      this.userId(),
      ended,
      loginSessionIds === null && keep === null,
      why,
    );
  }

  // ---- chatroom sockets (src/worker/routes/chatroom-socket.ts, ChatroomRelay; room-sockets.ts) ----

  /**
   * Socket route -> here, before it checks the session in D1: a slot for one more chatroom socket of
   * `loginSessionId`, or a refusal at MAX_ROOM_SOCKETS_PER_USER.
   */
  async reserveRoomSocket(loginSessionId: string): Promise<RoomSocketReservation> {
    let now = Date.now();
    if (
      this.roomSockets.held(now) >= MAX_ROOM_SOCKETS_PER_USER &&
      now - this.roomSocketsCheckedAt >= ROOM_SOCKETS_RECHECK_MS
    ) {
      this.roomSocketsCheckedAt = now;
      await forgetClosedRoomSockets(this.env, this.roomSockets, this.userId());
      now = Date.now();
    }
    // Counted and reserved in one turn: joins arriving together never pass the bound.
    if (this.roomSockets.held(now) >= MAX_ROOM_SOCKETS_PER_USER)
      return {
        ok: false,
        message: `too many chatroom connections: at most ${MAX_ROOM_SOCKETS_PER_USER} per user`,
      };
    return { ok: true, socketId: this.roomSockets.reserve(loginSessionId, now) };
  }

  /** Relay -> here, just before it accepts the socket: false when its session ended meanwhile. */
  async placeRoomSocket(socketId: string, relay: string): Promise<boolean> {
    return this.roomSockets.place(socketId, relay);
  }

  /** Relay or socket route -> here: the socket closed, or its join was refused. */
  async roomSocketClosed(socketId: string): Promise<void> {
    this.roomSockets.drop([socketId]);
  }

  /**
   * RPC from a ConversationObject: messages for this user, in seq order. The inbox keeps the new
   * ones (a repeated delivery changes nothing) and every authenticated device gets them, except
   * the device that sent a message, which had its SEND_MSG_RSP.
   */
  async deliver(delivery: Delivery): Promise<void> {
    countMetric(
      Metric.messagesDelivered,
      delivery.messages.length,
      conversationKind(delivery.conversationType),
    );
    await this.deliveryOrder.deliver(delivery);
    // The pending notification is stored; its alarm is too before the conversation hears "done".
    await this.pushArming;
  }

  /**
   * RPC from a one-to-one conversation's object: the highest seq of it this user's devices have
   * (delivered-marks.ts), asked when a sync shows the peer their messages past what it knows.
   */
  async deliveredSeq(conversationId: string): Promise<number> {
    return typeof conversationId === "string" ? this.deliveredMarks.seqOf(conversationId) : 0;
  }

  /** RPC: someone read this user's messages (READ_RECEIPT_PUSH to every device). */
  async pushReceipt(push: ReceiptPush): Promise<void> {
    this.broadcast(encodeFrame(Cmd.CMD_READ_RECEIPT_PUSH, 0, pb.ReadReceiptPush, push));
  }

  /** RPC: a message in one of this user's conversations was revoked. */
  async pushRevoke(push: RevokePush, seq: number, originSession: string, modSeq = 0): Promise<void> {
    // The revoke overtook its message when that delivery is parked (behind this user's own sends):
    // it waits, so devices and the inbox see the message first and then its revoke.
    await this.deliveryOrder.whenHeld(push.conversationId ?? "", seq, REVOKE_WAIT_MS);
    this.inbox.applyRevoke(push);
    this.inbox.forgetMention(push.conversationId, seq);
    // A revoke is a change too (docs/RICH-MESSAGES.md): BATCH_SYNC's mod_seq must show it.
    if (modSeq > 0) this.inbox.applyRevokeChange(push.conversationId, seq, modSeq);
    this.pushScheduler.revoked(push.conversationId, seq);
    this.broadcast(encodeFrame(Cmd.CMD_REVOKE_MSG_PUSH, 0, pb.RevokeMessagePush, push), originSession);
  }

  /**
   * RPC from a conversation's change pump (change-pump.ts): the next changes of one conversation,
   * oldest first, each message as it is now. Every rich device gets one frame per change, but the
   * device that made it (it had its answer); a repeat is harmless: devices compare mod_seq.
   */
  async pushMessageUpdates(batch: ChangeBatch): Promise<void> {
    const { conversationId, updates, pins } = batch;
    // The pump sends a change only once this object holds its message (fan-out watermark).
    // A change of the last message (an edit) shows in the conversation list; every change is a
    // number a rich device that was away learns from BATCH_SYNC.
    const last = this.inbox.maxSeq(conversationId);
    this.inbox.applyChange(
      conversationId,
      batch.modSeq,
      updates.find((update) => update.seq === last),
    );
    let pinsSent = pins === null;
    updates.forEach((update, i) => {
      if (pins && !pinsSent && pins.modSeq < update.modSeq) {
        sendToRich(this.ctx, pinsFrame(pins), batch.pinsOrigin);
        pinsSent = true;
      }
      sendToRich(this.ctx, messageUpdatedFrame(update), batch.origins[i] ?? "");
    });
    if (pins && !pinsSent) sendToRich(this.ctx, pinsFrame(pins), batch.pinsOrigin);
  }

  /** RPC: a conversation peer is typing. Never stored. */
  async pushTyping(push: TypingPush): Promise<void> {
    this.broadcast(encodeFrame(Cmd.CMD_TYPING_STATUS_PUSH, 0, pb.TypingStatusPush, push));
  }

  /** RPC: online when any device is authenticated; its platforms; when it was last seen. */
  async presence(userId: string): Promise<Presence> {
    return { ...this.status(), userId };
  }

  /** RPC: a friend came online or went offline (STATUS_CHANGE_PUSH to every device). */
  async pushStatus(status: Presence): Promise<void> {
    this.broadcast(encodeFrame(Cmd.CMD_STATUS_CHANGE_PUSH, 0, pb.StatusChangePush, { status }));
  }

  // ---- the conversation list, for the HTTP API (src/worker/routes/conversations.ts) ----

  async conversationPage(offset: number, limit: number): Promise<InboxEntry[]> {
    return this.inbox.page(offset, limit);
  }

  async conversation(conversationId: string): Promise<InboxEntry | null> {
    return this.inbox.entry(conversationId);
  }

  async setConversationFlag(
    conversationId: string,
    flag: "pinned" | "muted" | "hidden",
    on: boolean,
  ): Promise<boolean> {
    return this.inbox.setFlag(conversationId, flag, on);
  }

  /** Clears the unread count: a read receipt for the whole conversation. */
  async markRead(userId: string, conversationId: string): Promise<MarkReadResult> {
    return markConversationRead(this.services(), userId, conversationId, [], "");
  }

  // ---- offline push (src/push/; HTTP: src/worker/routes/push.ts; the consumer) ----

  async pushPreferences(): Promise<PushPreferencesJson> {
    const quiet = this.pushPrefs.quietHours();
    return {
      previews: this.pushPrefs.previews(),
      quietHours: quiet
        ? {
            start: formatMinute(quiet.startMinute),
            end: formatMinute(quiet.endMinute),
            timeZone: quiet.timeZone,
          }
        : null,
    };
  }

  async setPushPreferences(previews: boolean, quietHours: QuietHours | null): Promise<PushPreferencesJson> {
    this.pushPrefs.set(previews, quietHours);
    return this.pushPreferences();
  }

  /** Hides or shows one conversation's previews; false when too many are hidden already. */
  async setPreviewHidden(conversationId: string, hidden: boolean): Promise<boolean> {
    return this.pushPrefs.setPreviewHidden(conversationId, hidden);
  }

  async previewHidden(conversationId: string): Promise<boolean> {
    return this.pushPrefs.previewHidden(conversationId);
  }

  /** The user's device count changed (registered, unregistered, a dead token removed). */
  async pushDevicesChanged(devices: number): Promise<void> {
    this.pushPrefs.devicesChanged(devices, Date.now());
  }

  /** RPC from the consumer before it sends a retried or redelivered job: still wanted, and with what. */
  async pushRecheck(
    jobId: string,
    conversationId: string,
    seq: number,
    preview: string | null,
  ): Promise<PushRecheck> {
    return this.pushScheduler.recheck(jobId, conversationId, seq, preview, Date.now(), this.status().online);
  }

  /**
   * The consumer is done with a job; `devices` is how many it found left when it looked at
   * `checkedAt` (null: unknown). The redelivery the alarm was kept for is no longer needed.
   */
  async pushSettled(jobId: string, devices: number | null, checkedAt: number): Promise<void> {
    this.pushScheduler.settle(jobId);
    if (devices === 0) this.pushPrefs.noDevicesSeen(checkedAt);
    await this.rearmAlarm();
  }
}

meterInvocations(UserObject, "user", {
  endSessions: true,
  reserveRoomSocket: true,
  placeRoomSocket: true,
  roomSocketClosed: true,
  deliver: true,
  deliveredSeq: true,
  pushReceipt: true,
  pushRevoke: true,
  pushMessageUpdates: true,
  pushTyping: true,
  presence: true,
  pushStatus: true,
  conversationPage: true,
  conversation: true,
  setConversationFlag: true,
  markRead: true,
  pushPreferences: true,
  setPushPreferences: true,
  setPreviewHidden: true,
  previewHidden: true,
  pushDevicesChanged: true,
  pushSettled: true,
  pushRecheck: true,
});
