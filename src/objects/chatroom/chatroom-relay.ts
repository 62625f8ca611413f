// ChatroomRelay: `chatroom_<roomId>#<n>`, a share of one room's listener sockets (at most
// CHATROOM_LISTENERS_PER_RELAY), accepted with the hibernation API so an idle room costs nothing.
// The room hands it each batch of new messages (deliver); it encodes ONE push frame and sends it to
// every socket, and closes a socket that falls more than CHATROOM_MAX_UNACKED messages behind its
// acks (4008): a slow listener is dropped, never waited for. Sends, acks and history requests come
// in on its sockets (relay-dispatch.ts); sends and history go to the room. Each socket is listed with
// its user's object, which calls endSessions here when the user's sessions end (a ban, a logout).
import { DurableObject } from "cloudflare:workers";
import { readSettings } from "../../config/settings";
import { Cmd, encodeFrame, pb } from "../../protocol/codec";
import { CloseCode, MAX_FRAME_BYTES } from "../../protocol/limits";
import { logEvent } from "../../observability/log";
import { migrate } from "../sql-migrations";
import { FrameQueue } from "../user/frame-queue";
import { closeSocket, sendFrame } from "../user/socket-state";
import type { SessionEnd } from "../user/kick-out";
import { SUBPROTOCOL } from "../user/upgrade";
import { liveListener, saveListener, userTag } from "./listener-state";
import { ListenerReport } from "./listener-report";
import { relayObjectName, roomObjectName } from "./names";
import { newestWithinBytes } from "./page-bytes";
import { handleAckAtOnce, handleRelayFrames, incoming } from "./relay-dispatch";
import type { RelayServices } from "./relay-frame";
import type { Incoming, RoomMessage } from "./types";
import { relayUpgradeOf, type RelayUpgrade } from "./upgrade";

/** Close code for a listener too far behind its acks. */
export const TOO_SLOW_CLOSE = 4008;
/** Frames one room socket may have waiting, and their bytes: a listener sends little. */
const MAX_QUEUED_FRAMES = 256;
const MAX_QUEUED_BYTES = 2 * 1024 * 1024;
/**
 * Sockets a relay takes past CHATROOM_LISTENERS_PER_RELAY: the room counts each admission at once,
 * but a relay's report can land while admitted listeners are still on their way and lower the count,
 * so a few more may arrive than the room meant; they are taken rather than refused.
 */
export const RELAY_SLACK = 100;
/** Newest delivered messages held, so a listener accepted while a delivery arrived misses none. */
const RING = 256;
/**
 * How long a listener has to ack what was pushed before it counts toward 4008: a listener acks at
 * least every 2 s, plus its round trip. A backlog pushed in back-to-back batches (a retried
 * delivery) thus never counts as slowness: only messages it had time to ack do.
 */
export const ACK_GRACE_MS = 5_000;

const STEPS = [
  "CREATE TABLE relay_meta (room_id TEXT NOT NULL, relay INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0)",
];

function refusal(status: 400 | 401 | 404 | 503, message: string): Response {
  return Response.json({ code: status, message, data: null }, { status });
}

/** A listener between its upgrade's arrival and its acceptance: an end of its session refuses it. */
interface Joining {
  userId: string;
  sessionId: string;
  ended: SessionEnd | null;
}

/** What a listener of an ended session is told in CHATROOM_CLOSED, and the close reason. */
function endedReason(why: SessionEnd): string {
  return why === "banned" ? "Account banned" : "Session ended";
}

export class ChatroomRelay extends DurableObject<Env> {
  private identity: { roomId: string; relay: number; closed: boolean } | null;
  private cachedServices: RelayServices | null = null;
  private ring: RoomMessage[] = [];
  /** The last seq of each delivery and when it went out, newest last; pruned to ACK_GRACE_MS. */
  private readonly pushes: { seq: number; at: number }[] = [];
  private ackGraceMs = ACK_GRACE_MS;
  private live: Set<WebSocket> | null = null;
  /**
   * Joins on their way in: past the size check and waiting for the room's snapshot and the user's
   * slot. They count as held (in the cap and in every count reported), or a burst of joins would all
   * pass the check before any landed; endSessions marks the ones of the sessions it ends.
   */
  private readonly joining = new Set<Joining>();
  private readonly report: ListenerReport;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage.sql, "relay_meta", STEPS);
    const row = ctx.storage.sql
      .exec<{ room_id: string; relay: number; closed: number }>("SELECT * FROM relay_meta LIMIT 1")
      .toArray()[0];
    this.identity = row ? { roomId: row.room_id, relay: row.relay, closed: row.closed === 1 } : null;
    this.report = new ListenerReport(
      () => this.services().room(),
      () => this.identity?.relay ?? 0,
      () => this.held(),
    );
  }

  /** Built on first use; again once the relay learns its room (its settings carried over). */
  private services(): RelayServices {
    const roomId = this.identity?.roomId ?? "";
    if (!this.cachedServices || this.cachedServices.roomId !== roomId) {
      const settings = readSettings(this.env);
      const rooms = this.env.CHATROOM_OBJECT;
      const roomObjectId = rooms.idFromName(roomObjectName(roomId));
      this.cachedServices = {
        env: this.env,
        settings: this.cachedServices?.settings ?? settings.chatroom,
        socketRequestsPerSecond: settings.socketRequestsPerSecond,
        socketRequestBurst: settings.socketRequestBurst,
        roomId,
        room: () => rooms.get(roomObjectId),
      };
    }
    return this.cachedServices;
  }

  /**
   * The open listener sockets, kept in memory beside the runtime's list (rebuilt from it after a
   * wake): a delivery walks them without asking the runtime for every socket and its state.
   */
  private sockets(): Set<WebSocket> {
    this.live ??= new Set(this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN));
    return this.live;
  }

  /** Listeners held: the open sockets and the upgrades on their way in. */
  private held(): number {
    return this.sockets().size + this.joining.size;
  }

  /** Room -> relay: the listeners it really holds (the room asks before it answers "full"). */
  listenerCount(): number {
    return this.held();
  }

  /** Accepts a listener the worker authenticated and the room admitted (src/worker/routes/chatroom-socket.ts). */
  override async fetch(request: Request): Promise<Response> {
    const upgrade = relayUpgradeOf(request);
    if (!upgrade) return refusal(400, "expected an admitted chatroom upgrade");
    try {
      return await this.accept(upgrade);
    } finally {
      // The room counted this listener when it admitted it; whatever happened here (accepted,
      // refused, failed), the relay's own count corrects that.
      if (this.identity && !this.identity.closed) this.report.changed();
    }
  }

  private async accept(upgrade: RelayUpgrade): Promise<Response> {
    if (!this.identity) {
      this.ctx.storage.sql.exec(
        "INSERT INTO relay_meta (room_id, relay) VALUES (?, ?)",
        upgrade.roomId,
        upgrade.relay,
      );
      this.identity = { roomId: upgrade.roomId, relay: upgrade.relay, closed: false };
    }
    if (this.identity.closed) return refusal(404, "chatroom closed");
    const services = this.services();
    if (this.held() >= services.settings.listenersPerRelay + RELAY_SLACK)
      return refusal(503, "chatroom relay full: try again");
    const joining: Joining = { userId: upgrade.userId, sessionId: upgrade.sessionId, ended: null };
    this.joining.add(joining);
    try {
      return await this.acceptAfterSnapshot(upgrade, services, joining);
    } finally {
      this.joining.delete(joining);
    }
  }

  private async acceptAfterSnapshot(
    upgrade: RelayUpgrade,
    services: RelayServices,
    joining: Joining,
  ): Promise<Response> {
    const identity = this.identity!;
    // Placed in the user's list before the socket exists: an end of the session after this reaches
    // this relay (and `joining`); one before it dropped the reservation, and this refuses. Asked
    // beside the snapshot: only the acceptance below has to wait for it.
    const user = this.env.USER_OBJECT.getByName(upgrade.userId);
    const [placed, snapshot] = await Promise.all([
      user.placeRoomSocket(upgrade.socketId, relayObjectName(identity.roomId, identity.relay)),
      services.room().snapshot(),
    ]);
    if (!placed) return refusal(401, "Session ended");
    if (!snapshot.ok) return refusal(snapshot.status, snapshot.message);
    // The room may have closed, or the session ended, while the snapshot was on its way.
    if (!this.identity || this.identity.closed) return refusal(404, "chatroom closed");
    if (joining.ended) return refusal(401, endedReason(joining.ended));
    // What reached this relay while the snapshot was on its way is newer than it: the listener gets that too.
    const later = this.ring.filter((m) => m.seq > snapshot.maxSeq);
    const recent = newestWithinBytes([...snapshot.recent, ...later]);
    const maxSeq = Math.max(snapshot.maxSeq, later[later.length - 1]?.seq ?? 0);

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [userTag(upgrade.userId)]);
    this.sockets().add(server);
    saveListener(server, {
      userId: upgrade.userId,
      sessionId: upgrade.sessionId,
      ackedSeq: maxSeq,
      checkedAt: 0,
      socketId: upgrade.socketId,
    });
    liveListener(server).sentSeq = maxSeq;
    sendFrame(
      server,
      encodeFrame(Cmd.CMD_CHATROOM_JOINED, 0, pb.ChatroomJoined, {
        roomId: identity.roomId,
        name: snapshot.name,
        maxSeq,
        recent,
        listeners: snapshot.listeners,
        messageMaxBytes: services.settings.messageMaxBytes,
      }),
    );
    const headers = new Headers();
    if (upgrade.subprotocol) headers.set("Sec-WebSocket-Protocol", SUBPROTOCOL);
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Room -> relay: new messages, in seq order. One frame for every socket. Answers the listeners held. */
  deliver(messages: RoomMessage[]): number {
    const last = messages[messages.length - 1];
    if (!last || !this.identity || this.identity.closed) return this.held();
    this.ring.push(...messages);
    if (this.ring.length > RING) this.ring.splice(0, this.ring.length - RING);
    const frame = encodeFrame(Cmd.CMD_CHATROOM_PUSH, 0, pb.ChatroomPush, {
      roomId: this.identity.roomId,
      messages,
    });
    const { maxUnacked } = this.services().settings;
    const due = this.dueSeq(last.seq);
    let held = 0;
    const sockets = this.sockets();
    for (const ws of sockets) {
      const memory = liveListener(ws);
      if (memory.sentSeq >= last.seq) {
        held++;
        continue;
      }
      if (due - memory.state.ackedSeq > maxUnacked) {
        sockets.delete(ws);
        closeSocket(ws, TOO_SLOW_CLOSE, `too slow: more than ${maxUnacked} messages unacknowledged`);
        continue;
      }
      sendFrame(ws, frame);
      memory.sentSeq = last.seq;
      held++;
    }
    return held + this.joining.size;
  }

  /**
   * Records a delivery of `seq` now; answers the highest seq pushed at least ackGraceMs ago (0 when
   * none): what a listener had time to ack, the only messages the 4008 check counts.
   */
  private dueSeq(seq: number): number {
    const now = Date.now();
    this.pushes.push({ seq, at: now });
    const dueAt = now - this.ackGraceMs;
    // Keep the newest entry old enough, drop those before it.
    while (this.pushes.length > 1 && (this.pushes[1] as { at: number }).at <= dueAt) this.pushes.shift();
    const oldest = this.pushes[0] as { seq: number; at: number };
    return oldest.at <= dueAt ? oldest.seq : 0;
  }

  /**
   * User's object -> relay: these login sessions of the user ended (all of them when null): their
   * sockets here get CHATROOM_CLOSED and close with 1008, and their joins on the way are refused.
   * Found by the socket's tag, so a relay woken for this reads no other attachment. Nothing of the
   * user here is a no-op.
   */
  endSessions(userId: string, sessionIds: readonly string[] | null, why: SessionEnd): number {
    const ended = (sessionId: string) => sessionIds === null || sessionIds.includes(sessionId);
    for (const join of this.joining) if (join.userId === userId && ended(join.sessionId)) join.ended = why;
    const reason = endedReason(why);
    const frame = encodeFrame(Cmd.CMD_CHATROOM_CLOSED, 0, pb.ChatroomClosed, {
      roomId: this.identity?.roomId ?? "",
      reason,
      sessionEnded: true,
    });
    let closed = 0;
    for (const ws of this.ctx.getWebSockets(userTag(userId))) {
      const listener = liveListener(ws).state;
      if (listener.userId !== userId || !ended(listener.sessionId) || ws.readyState !== WebSocket.OPEN)
        continue;
      this.sockets().delete(ws);
      sendFrame(ws, frame);
      closeSocket(ws, CloseCode.policyViolation, reason);
      closed++;
    }
    if (closed > 0) this.report.changed();
    return closed;
  }

  /** User's object -> relay: which of these sockets of the user are still open here. */
  heldSockets(userId: string, socketIds: readonly string[]): string[] {
    const held: string[] = [];
    for (const ws of this.ctx.getWebSockets(userTag(userId))) {
      const { socketId } = liveListener(ws).state;
      if (ws.readyState === WebSocket.OPEN && socketIds.includes(socketId)) held.push(socketId);
    }
    return held;
  }

  /** Room -> relay: the room closed; every listener is told and closed, later upgrades refused. */
  roomClosed(roomId: string, reason: string): void {
    if (!this.identity) {
      this.ctx.storage.sql.exec("INSERT INTO relay_meta (room_id, relay, closed) VALUES (?, 0, 1)", roomId);
      this.identity = { roomId, relay: 0, closed: true };
    } else if (!this.identity.closed) {
      this.ctx.storage.sql.exec("UPDATE relay_meta SET closed = 1");
      this.identity = { ...this.identity, closed: true };
    }
    const frame = encodeFrame(Cmd.CMD_CHATROOM_CLOSED, 0, pb.ChatroomClosed, { roomId, reason });
    for (const ws of this.sockets()) {
      sendFrame(ws, frame);
      closeSocket(ws, CloseCode.normal, "chatroom closed");
    }
    this.sockets().clear();
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const bytes = typeof data === "string" ? data.length : data.byteLength;
    if (bytes > MAX_FRAME_BYTES) {
      closeSocket(ws, CloseCode.tooBig, `frame exceeds ${MAX_FRAME_BYTES} bytes`);
      return this.drop(ws);
    }
    const frame = incoming(data);
    if (handleAckAtOnce(this.services(), ws, frame)) return;
    const memory = liveListener(ws);
    if (memory.frames?.owner !== this) {
      const queue = new FrameQueue<Incoming>((frames) => handleRelayFrames(this.services(), ws, frames), {
        maxFrames: MAX_QUEUED_FRAMES,
        maxBytes: MAX_QUEUED_BYTES,
      });
      memory.frames = { owner: this, queue };
    }
    const handled = memory.frames.queue.push(frame, bytes);
    if (!handled) {
      closeSocket(ws, CloseCode.policyViolation, "too many frames waiting");
      return this.drop(ws);
    }
    await handled;
    // A handler closed it (1008: bad frames, a session that ended).
    if (ws.readyState !== WebSocket.OPEN) this.drop(ws);
  }

  /**
   * A socket closed by either side or failed leaves the live set at once: not counted, not pushed
   * to. A close the relay starts may never be answered, so it does not wait for webSocketClose.
   */
  private drop(ws: WebSocket): void {
    this.sockets().delete(ws);
    // Even when it was not in the set (rebuilt after a wake without the closing socket): the room
    // still counts it.
    if (this.identity && !this.identity.closed) this.report.changed();
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeSocket(ws, code === 1005 || code === 1006 ? CloseCode.normal : code, reason);
    this.drop(ws);
    // Frees the user's slot. Lost, it is found out when the user next reaches the bound.
    const { userId, socketId } = liveListener(ws).state;
    if (!socketId) return;
    try {
      await this.env.USER_OBJECT.getByName(userId).roomSocketClosed(socketId);
    } catch (error) {
      logEvent("warn", "room_socket_release_failed", { userId }, error);
    }
  }

  override webSocketError(ws: WebSocket, error: unknown): void {
    logEvent("warn", "chatroom_socket_errored", { userId: liveListener(ws).state.userId }, error);
    this.drop(ws);
  }
}
