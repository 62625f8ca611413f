// One joined chatroom: its own socket (/ws/chatroom/:id), the room's messages once each and in seq
// order (chatroom-timeline.ts), acks at the room's cadence (chatroom-acks.ts), heartbeats, sends
// with acks and resends (outbox.ts), and reconnects with backoff that resume from the last seq.
import { Cmd, Err, pb, type Encoder, type Frame } from "../protocol/codec.ts";
import type { im } from "../protocol/generated/im.js";
import { AckCadence } from "./chatroom-acks.ts";
import type { ChatroomInfo, ChatroomMessage } from "./chatroom-shapes.ts";
import { ChatroomTimeline, type HistoryPage } from "./chatroom-timeline.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { TypedEmitter } from "./emitter.ts";
import { expectSuccess, IMConnectionError, IMError, IMHttpError, IMProtocolError } from "./errors.ts";
import { Outbox } from "./outbox.ts";
import { PendingRequests } from "./pending.ts";
import { joinTokenExpiresAt } from "./join-token.ts";
import { FrameSocket, type FrameHooks, type WebSocketFactory } from "./socket.ts";
import { MessageType } from "./types.ts";

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** Why a room ended for this listener; no reconnect follows any of them. */
export type ChatroomEndReason =
  /** `leave()`. */
  | "left"
  /** Its creator (or an admin) closed the room. */
  | "closed"
  /** The room refused the join: no such room, a token room without a valid join token, or full. */
  | "refused"
  /** The session ended (a logout, a ban, a password change elsewhere, or a refresh the server refused). */
  | "session";

export interface ChatroomEvents {
  /** One message, in seq order, exactly once (this listener's own sends included). */
  message: ChatroomMessage;
  /** The same messages, grouped as they were delivered (a push, a join's recent ones, a gap fill). */
  messages: ChatroomMessage[];
  /** The socket joined (again, after a reconnect: `rejoined`). */
  joined: { name: string; maxSeq: number; listeners: number; rejoined: boolean };
  disconnected: { code: number; reason: string; willReconnect: boolean };
  reconnecting: { attempt: number; delayMs: number };
  /** The room is over for this listener. */
  closed: { reason: ChatroomEndReason; message: string };
  /** Failures nobody awaits: seqs the room no longer keeps (skipped), a listener that threw. */
  error: IMError;
}

/** What a Chatroom needs from its IMClient. */
export interface ChatroomDeps {
  roomId: string;
  joinToken?: string;
  userId: string;
  /** The WebSocket endpoint of /ws; the room's is `<wsUrl>/chatroom/<roomId>`. */
  wsUrl: string;
  tokenTransport: "query" | "subprotocol";
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** The socket's open and its CHATROOM_JOINED, together. */
  authTimeoutMs: number;
  requestTimeoutMs: number;
  reconnect: BackoffOptions;
  ackTimeoutMs: number;
  maxResends: number;
  createWebSocket: WebSocketFactory;
  hooks: FrameHooks;
  /** A valid access token (refreshed when near expiry). */
  token(): Promise<string>;
  /** GET /api/chatrooms/:id: tells a refusal or a closed room from a network failure. */
  probe(): Promise<ChatroomInfo>;
  /** The room ended: the client forgets it. */
  ended(room: Chatroom): void;
}

/** What a room's sends are keyed on in the outbox. */
interface RoomSend {
  clientMsgId: string;
  conversationId: string;
  messageType: number;
  content: Uint8Array;
}

/** A message to send to a room: text, or content of another type (the room treats it as bytes). */
export type ChatroomOutgoing =
  string | { content: string | Uint8Array; messageType?: number; clientMsgId?: string };

/**
 * Tries of a first join to a room that exists before it counts as refused: a full relay (503) is
 * worth a retry, a missing join token (403) is not, and a browser cannot tell the two apart.
 */
export const FIRST_JOIN_ATTEMPTS = 3;

/** `ws://host/ws` → `ws://host/ws/chatroom/<id>?token=…&join=…` and the subprotocols to offer. */
export function chatroomEndpoint(
  wsUrl: string,
  roomId: string,
  token: string,
  joinToken: string | undefined,
  transport: "query" | "subprotocol",
): [string, string[]] {
  const url = new URL(wsUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/chatroom/${encodeURIComponent(roomId)}`;
  if (transport === "query") url.searchParams.set("token", token);
  if (joinToken) url.searchParams.set("join", joinToken);
  return [url.toString(), transport === "subprotocol" ? ["im.v1", `token.${token}`] : []];
}

/** A wire message as the app sees it: numbers as numbers, the content also as text. */
export function toChatroomMessage(
  roomId: string,
  m: im.protocol.ChatroomMessage.$Properties,
): ChatroomMessage {
  const content = m.content ?? new Uint8Array();
  return {
    roomId,
    serverMsgId: m.serverMsgId ?? "",
    clientMsgId: m.clientMsgId ?? "",
    senderId: m.senderId ?? "",
    seq: Number(m.seq ?? 0),
    messageType: m.messageType ?? 0,
    content,
    text: utf8.decode(content),
    serverTime: Number(m.serverTime ?? 0),
  };
}

/**
 * A joined room. Made by `IMClient.joinChatroom`; lives until `leave()`, the room's close, or a
 * refused rejoin.
 *
 * @example
 * const room = await client.joinChatroom(roomId, { joinToken });
 * room.on("message", (m) => show(m.senderId, m.text));
 * room.on("closed", (e) => console.log("room over:", e.reason));
 * const mine = await room.send("hello room"); // { seq, serverMsgId, … } once stored
 * room.leave();
 */
export class Chatroom extends TypedEmitter<ChatroomEvents> {
  readonly roomId: string;
  private roomName = "";
  private roomListeners = 0;
  /** The room's content limit, told by CHATROOM_JOINED (0: not known yet, the room judges). */
  private messageMaxBytes = 0;
  private socket: FrameSocket | null = null;
  /** The current socket received CHATROOM_JOINED: sends, acks and requests may go out. */
  private isJoined = false;
  private everJoined = false;
  private ended: { reason: ChatroomEndReason; message: string } | null = null;
  private attempt = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private firstJoin: { resolve: () => void; reject: (error: Error) => void } | null = null;
  /** Opens a reachable room refused before the first join; FIRST_JOIN_ATTEMPTS refuse it. */
  private firstJoinFailures = 0;
  /** Frames that arrived while the first join waits for the caller to subscribe. */
  private held: Frame[] | null = null;
  private readonly pending = new PendingRequests();
  private readonly backoff: Backoff;
  private readonly timeline: ChatroomTimeline;
  private readonly acks: AckCadence;
  private readonly outbox: Outbox<RoomSend>;
  private readonly deps: ChatroomDeps;

  constructor(deps: ChatroomDeps) {
    super();
    this.deps = deps;
    this.roomId = deps.roomId;
    this.backoff = new Backoff(deps.reconnect);
    this.timeline = new ChatroomTimeline({
      history: (afterSeq, limit) => this.history(afterSeq, limit),
      deliver: (messages) => this.deliver(messages),
      skipped: (from, to) =>
        this.emit(
          "error",
          new IMError("protocol", 0, `${this.roomId}: seq ${from}-${to} are no longer kept by the room`),
        ),
      failed: (error) => {
        // A closed socket is normal here: the next join fills the gap again.
        if (!(error instanceof IMConnectionError)) this.emit("error", asIMError(error));
      },
    });
    this.acks = new AckCadence(() =>
      this.transmit(Cmd.CMD_CHATROOM_ACK, pb.ChatroomAck, { seq: this.timeline.cursor }),
    );
    this.outbox = new Outbox<RoomSend>({
      command: Cmd.CMD_CHATROOM_SEND_REQ,
      ackTimeoutMs: deps.ackTimeoutMs,
      maxAttempts: deps.maxResends + 1,
      transmit: (send) =>
        this.transmit(Cmd.CMD_CHATROOM_SEND_REQ, pb.ChatroomSendRequest, {
          clientMsgId: send.clientMsgId,
          messageType: send.messageType,
          content: send.content,
        }),
      acked: (send, result) => this.timeline.offer([this.ownMessage(send, result)]),
    });
  }

  /** The room's name, from the last join. */
  get name(): string {
    return this.roomName;
  }

  /** Listeners when this socket last joined (approximate). */
  get listenersAtJoin(): number {
    return this.roomListeners;
  }

  /** The highest seq delivered with nothing missing below it. */
  get cursor(): number {
    return this.timeline.cursor;
  }

  /** True while the socket is joined (between `joined` and `disconnected`). */
  get connected(): boolean {
    return this.isJoined && this.socket?.isOpen === true;
  }

  /** Why the room ended, or null while it lives. */
  get endedBecause(): { reason: ChatroomEndReason; message: string } | null {
    return this.ended;
  }

  /** Opens the socket; resolves at the first CHATROOM_JOINED, rejects when the room refuses. */
  start(): Promise<void> {
    const joined = new Promise<void>((resolve, reject) => (this.firstJoin = { resolve, reject }));
    void this.open(++this.attempt);
    return joined;
  }

  /**
   * Sends a message to the room; resolves with it once the room stored it (its seq and id). It
   * also arrives as a `message`, in the room's order. While reconnecting it waits; without an ack
   * it goes out again with the same client_msg_id (the room answers a repeat with the stored seq).
   */
  send(message: ChatroomOutgoing): Promise<ChatroomMessage> {
    if (this.ended) return Promise.reject(new IMConnectionError(`the room is ${this.ended.reason}`));
    const input = typeof message === "string" ? { content: message } : message;
    const content = typeof input.content === "string" ? encoder.encode(input.content) : input.content;
    if (content.byteLength === 0) return Promise.reject(new IMError("invalid", 0, "content is empty"));
    if (this.messageMaxBytes > 0 && content.byteLength > this.messageMaxBytes)
      return Promise.reject(
        new IMProtocolError(
          Err.ERR_MESSAGE_TOO_LARGE,
          `content exceeds ${this.messageMaxBytes} bytes`,
          Cmd.CMD_CHATROOM_SEND_REQ,
        ),
      );
    const send: RoomSend = {
      clientMsgId: input.clientMsgId ?? crypto.randomUUID(),
      conversationId: `chatroom_${this.roomId}`,
      messageType: input.messageType ?? MessageType.text,
      content,
    };
    return this.outbox.send(send).then((result) => this.ownMessage(send, result));
  }

  /** Leaves: acknowledges what was read, closes the socket, and ends the room for this listener. */
  leave(): void {
    if (this.isJoined) this.acks.flush();
    this.end("left", "left the room");
  }

  // ---- socket ----------------------------------------------------------------------------------

  private async open(attempt: number): Promise<void> {
    let socket: FrameSocket | null = null;
    try {
      const token = await this.deps.token();
      if (this.stale(attempt)) return;
      const [url, protocols] = chatroomEndpoint(
        this.deps.wsUrl,
        this.roomId,
        token,
        this.deps.joinToken,
        this.deps.tokenTransport,
      );
      socket = await FrameSocket.open(
        url,
        protocols,
        this.deps.createWebSocket,
        this.deps.hooks,
        this.deps.authTimeoutMs,
      );
      if (this.stale(attempt)) return socket.close(1000, "superseded");
      const current = socket;
      this.socket = current;
      // Attached in the same task as the open: the room's first frame cannot slip by.
      current.attach({ frame: (f) => this.route(f), closed: (code, why) => this.lost(current, code, why) });
      const joined = await this.pending.wait("joined", this.deps.authTimeoutMs, "CHATROOM_JOINED");
      if (this.stale(attempt) || this.socket !== current) return;
      const decoded = pb.ChatroomJoined.decode(joined.body);
      // Known before the caller may send: the first join resolves before onJoined runs.
      this.messageMaxBytes = decoded.messageMaxBytes;
      if (!this.everJoined) await this.letCallerSubscribe();
      if (this.stale(attempt) || this.socket !== current) return;
      this.onJoined(current, decoded);
      const held = this.held ?? [];
      this.held = null;
      for (const frame of held) this.route(frame);
    } catch (error) {
      if (this.stale(attempt)) return;
      // A live socket reports its own loss (and the retry); a failed open is judged here.
      if (socket && socket === this.socket) return socket.close(1000, "join failed");
      await this.judgeFailedOpen(attempt, error);
    }
  }

  /**
   * A refused upgrade looks like any failed socket (browsers do not show its HTTP status), so the
   * room is asked over HTTP. Gone (404) ends the room. A room that is there but refused a first
   * join either wants a valid join token (403) or is full for now (503, worth a retry): a first
   * join gets FIRST_JOIN_ATTEMPTS tries before it is refused. Anything else (the network), and
   * any failed rejoin to a room that is still there, is retried with the backoff.
   */
  private async judgeFailedOpen(attempt: number, error: unknown): Promise<void> {
    let room: ChatroomInfo | "gone" | null = null;
    try {
      room = await this.deps.probe();
    } catch (probeError) {
      if (probeError instanceof IMHttpError && probeError.status === 401)
        return this.end("session", "the session has ended");
      const codes = probeError instanceof IMHttpError ? [probeError.status, probeError.code] : [];
      if (codes.some((c) => c === 404 || c === 410)) room = "gone";
    }
    if (this.stale(attempt)) return;
    if (room === "gone") return this.end(this.everJoined ? "closed" : "refused", "the room does not exist");
    // A token room refuses an expired join token for good: retrying would never end.
    if (room?.access === "token" && this.joinTokenExpired())
      return this.end("refused", "the room refused the join (the join token expired)");
    if (room && !this.everJoined && ++this.firstJoinFailures >= FIRST_JOIN_ATTEMPTS) {
      const why =
        room.access === "token" ? "a missing or expired join token, or a full room" : "the room is full";
      return this.end("refused", `the room refused the join (${why})`);
    }
    this.emit("error", asIMError(error));
    this.scheduleReconnect();
  }

  private joinTokenExpired(): boolean {
    const expiresAt = this.deps.joinToken ? joinTokenExpiresAt(this.deps.joinToken) : null;
    return expiresAt !== null && expiresAt <= Date.now();
  }

  /**
   * The first join resolves `joinChatroom` before anything is emitted: frames that arrive meanwhile
   * are held for one task, so listeners added right after the `await` hear the recent messages.
   */
  private async letCallerSubscribe(): Promise<void> {
    this.held = [];
    this.firstJoin?.resolve();
    this.firstJoin = null;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  private onJoined(socket: FrameSocket, joined: ReturnType<typeof pb.ChatroomJoined.decode>): void {
    this.isJoined = true;
    this.roomName = joined.name;
    this.roomListeners = joined.listeners;
    this.backoff.reset();
    this.startHeartbeat(socket);
    const rejoined = this.everJoined;
    this.everJoined = true;
    this.emit("joined", {
      name: joined.name,
      maxSeq: Number(joined.maxSeq),
      listeners: joined.listeners,
      rejoined,
    });
    this.timeline.joined(
      Number(joined.maxSeq),
      joined.recent.map((m) => toChatroomMessage(this.roomId, m)),
    );
    this.outbox.resume();
    this.firstJoin?.resolve();
    this.firstJoin = null;
  }

  private route(frame: Frame): void {
    if (this.held) {
      this.held.push(frame);
      return;
    }
    try {
      switch (frame.command) {
        case Cmd.CMD_CHATROOM_JOINED:
          if (!this.pending.settle("joined", frame)) this.emit("error", unexpected(frame));
          return;
        case Cmd.CMD_CHATROOM_PUSH:
          return this.timeline.offer(
            pb.ChatroomPush.decode(frame.body).messages.map((m) => toChatroomMessage(this.roomId, m)),
          );
        case Cmd.CMD_CHATROOM_SEND_RSP:
          return this.outbox.handle(pb.ChatroomSendResponse.decode(frame.body));
        case Cmd.CMD_CHATROOM_HISTORY_RSP:
        case Cmd.CMD_HEARTBEAT_RSP:
          this.pending.settle(`seq:${frame.sequence}`, frame); // a late answer finds nobody: dropped
          return;
        case Cmd.CMD_CHATROOM_CLOSED: {
          // The room closes the socket next; ending now keeps that close from looking like a loss.
          const closed = pb.ChatroomClosed.decode(frame.body);
          if (closed.sessionEnded) return this.end("session", closed.reason || "the session has ended");
          return this.end("closed", closed.reason || "the room was closed");
        }
        case Cmd.CMD_UNKNOWN: {
          const notice = pb.ErrorNotice.decode(frame.body);
          const error = new IMProtocolError(notice.errorCode, notice.errorMsg, notice.refCommand);
          if (notice.refSequence && this.pending.fail(`seq:${notice.refSequence}`, error)) return;
          return this.emit("error", error);
        }
        default:
          return this.emit("error", unexpected(frame));
      }
    } catch (error) {
      this.emit("error", new IMError("protocol", 0, `bad frame ${frame.command}: ${String(error)}`));
    }
  }

  private lost(socket: FrameSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.isJoined = false;
    this.held = null;
    clearInterval(this.heartbeat);
    this.acks.cancel();
    this.outbox.pause();
    this.pending.failAll(new IMConnectionError(`room socket lost (${code})`));
    if (this.ended) return;
    // 4008 "too slow", 1008 (a session that ended is then refused at the upgrade, told by the
    // probe) and every other loss: come back and resume from the cursor.
    this.emit("disconnected", { code, reason, willReconnect: true });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.ended) return;
    clearTimeout(this.reconnectTimer);
    const attempt = ++this.attempt;
    const delayMs = this.backoff.next();
    this.emit("reconnecting", { attempt: this.backoff.count, delayMs });
    this.reconnectTimer = setTimeout(() => void this.open(attempt), delayMs);
  }

  private stale(attempt: number): boolean {
    return this.ended !== null || attempt !== this.attempt;
  }

  /** Ends the room for this listener, once: no reconnect, sends rejected, the client forgets it. */
  private end(reason: ChatroomEndReason, message: string): void {
    if (this.ended) return;
    this.ended = { reason, message };
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    this.acks.cancel();
    const socket = this.socket;
    this.socket = null;
    this.isJoined = false;
    this.held = null;
    socket?.close(1000, reason);
    this.pending.failAll(new IMConnectionError(`the room is ${reason}`));
    this.outbox.failAll(`the room is ${reason}: ${message}`);
    this.firstJoin?.reject(new IMConnectionError(message));
    this.firstJoin = null;
    this.deps.ended(this);
    this.emit("closed", { reason, message });
  }

  // ---- frames ----------------------------------------------------------------------------------

  /** Sends a frame with no answer of its own; false unless the socket is joined. */
  private transmit<T>(command: Cmd, type: Encoder<T>, body: T): boolean {
    const socket = this.socket;
    if (!this.isJoined || !socket?.isOpen) return false;
    socket.send(command, type, body);
    return true;
  }

  /** Sends a request and waits for the frame that answers its sequence. */
  private async request<T>(command: Cmd, type: Encoder<T>, body: T, timeoutMs: number): Promise<Frame> {
    const socket = this.socket;
    if (!this.isJoined || !socket?.isOpen) throw new IMConnectionError("not joined");
    const sequence = socket.send(command, type, body);
    return this.pending.wait(`seq:${sequence}`, timeoutMs, Cmd[command] ?? String(command));
  }

  private async history(afterSeq: number, limit: number): Promise<HistoryPage> {
    const frame = await this.request(
      Cmd.CMD_CHATROOM_HISTORY_REQ,
      pb.ChatroomHistoryRequest,
      { afterSeq, limit },
      this.deps.requestTimeoutMs,
    );
    if (frame.command !== Cmd.CMD_CHATROOM_HISTORY_RSP)
      throw new IMProtocolError(Err.ERR_UNKNOWN, "unexpected response", Cmd.CMD_CHATROOM_HISTORY_REQ);
    const page = expectSuccess(pb.ChatroomHistoryResponse.decode(frame.body), Cmd.CMD_CHATROOM_HISTORY_REQ);
    return { messages: page.messages.map((m) => toChatroomMessage(this.roomId, m)), hasMore: page.hasMore };
  }

  private startHeartbeat(socket: FrameSocket): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const beat = { clientTime: Date.now() };
      this.request(Cmd.CMD_HEARTBEAT_REQ, pb.HeartbeatRequest, beat, this.deps.heartbeatTimeoutMs).catch(
        () => {
          // No answer in time: the link is dead even if the socket does not know it yet.
          if (this.socket === socket) socket.close(1000, "heartbeat timeout");
        },
      );
    }, this.deps.heartbeatIntervalMs);
  }

  private deliver(messages: ChatroomMessage[]): void {
    for (const m of messages) this.emit("message", m);
    this.emit("messages", messages);
    this.acks.delivered(messages.length);
  }

  private ownMessage(
    send: RoomSend,
    result: { serverMsgId: string; seq: number; serverTime: number },
  ): ChatroomMessage {
    return {
      roomId: this.roomId,
      serverMsgId: result.serverMsgId,
      clientMsgId: send.clientMsgId,
      senderId: this.deps.userId,
      seq: result.seq,
      messageType: send.messageType,
      content: send.content,
      text: utf8.decode(send.content),
      serverTime: result.serverTime,
    };
  }

  protected override onListenerError(event: keyof ChatroomEvents, error: unknown): void {
    if (event === "error") return super.onListenerError(event, error);
    this.emit(
      "error",
      new IMError("invalid", 0, `a "${String(event)}" listener threw: ${String(error)}`, { cause: error }),
    );
  }
}

function unexpected(frame: Frame): IMError {
  return new IMError(
    "protocol",
    0,
    `unexpected frame ${Cmd[frame.command] ?? frame.command} on a room socket`,
  );
}

function asIMError(error: unknown): IMError {
  return error instanceof IMError ? error : new IMConnectionError(String(error));
}
