// The logical connection: socket, AUTH, heartbeat, reconnect with backoff and full jitter, request matching.
import { Cmd, Err, pb, type Encoder, type Frame } from "../protocol/codec.ts";
import { CloseCode } from "../protocol/limits.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { IMConnectionError, IMError, IMHttpError, IMProtocolError } from "./errors.ts";
import { BY_SEQUENCE, PendingRequests, type ResponseType } from "./pending.ts";
import { FrameSocket, type FrameHooks, type WebSocketFactory } from "./socket.ts";
import type { ConnectionState } from "./types.ts";

export interface ConnectionOptions {
  /** The WebSocket endpoint, e.g. `wss://im.example.com/ws`. */
  url: string;
  /** `query` appends `?token=` (what the iOS SDK does); `subprotocol` offers `im.v1, token.<JWT>`. */
  tokenTransport: "query" | "subprotocol";
  platform: string;
  /** Protocol extensions declared in AUTH (e.g. "rich_messages"); the server lists those it serves. */
  features: readonly string[];
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  authTimeoutMs: number;
  requestTimeoutMs: number;
  backoff: BackoffOptions;
  createWebSocket: WebSocketFactory;
  hooks: FrameHooks;
}

/** What the connection needs from the client, and what it tells it. */
export interface ConnectionDelegate {
  /** The user and a token for the next attempt; `expired` means the last one was refused as expired. */
  credentials(expired: boolean): Promise<{ userId: string; token: string }>;
  /**
   * Runs after AUTH succeeded and before the connection counts as ready (sync, outbox flush);
   * `features` are the declared ones the server serves on this socket.
   */
  ready(maxSeq: number, features: readonly string[]): Promise<void>;
  /** A frame no request was waiting for: pushes, SEND_MSG_RSP, SYNC_FINISHED. */
  frame(frame: Frame): void;
  state(state: ConnectionState): void;
  connected(info: { maxSeq: number; reconnected: boolean }): void;
  disconnected(info: { code: number; reason: string; willReconnect: boolean }): void;
  reconnecting(info: { attempt: number; delayMs: number }): void;
  kicked(info: { reason: number; message: string }): void;
  error(error: IMError): void;
}

/**
 * Opens a socket, authenticates, keeps it alive with heartbeats, and after any loss it did not ask
 * for reconnects with backoff. Requests ride on the current socket and fail fast when there is none.
 */
export class Connection {
  private socket: FrameSocket | null = null;
  private authed = false;
  private isReady = false;
  private stopped = true;
  private everConnected = false;
  private tokenExpired = false;
  private attempt = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private readonly pending = new PendingRequests();
  private readonly backoff: Backoff;
  private readonly options: ConnectionOptions;
  private readonly delegate: ConnectionDelegate;

  constructor(options: ConnectionOptions, delegate: ConnectionDelegate) {
    this.options = options;
    this.delegate = delegate;
    this.backoff = new Backoff(options.backoff);
  }

  /** True while an authenticated socket is open: requests and sends can go out. */
  get isAuthenticated(): boolean {
    return this.authed && this.socket?.isOpen === true;
  }

  /** Starts connecting (if stopped) and resolves at the next ready; rejects when it is stopped first. */
  start(): Promise<void> {
    if (!this.stopped && this.isReady) return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    if (this.stopped) {
      this.stopped = false;
      void this.open(++this.attempt);
    }
    return ready;
  }

  /** Closes for good: no reconnect until `start()` again. */
  stop(reason = "client stopped"): void {
    this.halt(new IMConnectionError(reason), 1000, reason);
  }

  /** Sends a frame that has no response of its own; false when no authenticated socket is open. */
  transmit<T>(command: Cmd, type: Encoder<T>, body: T): boolean {
    if (!this.isAuthenticated || !this.socket) return false;
    this.socket.send(command, type, body);
    return true;
  }

  /** Sends a request and decodes its response, matched by sequence or by `key` when given. */
  async request<Req, Res>(
    command: Cmd,
    type: Encoder<Req>,
    body: Req,
    response: ResponseType<Res>,
    options: { key?: string; timeoutMs?: number } = {},
  ): Promise<Res> {
    const socket = this.socket;
    const allowed = this.authed || command === Cmd.CMD_AUTH_REQ || command === Cmd.CMD_HEARTBEAT_REQ;
    if (!socket?.isOpen || !allowed) throw new IMConnectionError("not connected");
    const sequence = socket.send(command, type, body);
    const key = options.key ?? `seq:${sequence}`;
    const frame = await this.pending.wait(
      key,
      options.timeoutMs ?? this.options.requestTimeoutMs,
      Cmd[command],
    );
    if (frame.command !== response.command)
      throw new IMProtocolError(Err.ERR_UNKNOWN, "unexpected response", command);
    return response.decode(frame.body);
  }

  private async open(attempt: number): Promise<void> {
    let socket: FrameSocket | null = null;
    try {
      this.delegate.state("connecting");
      const { userId, token } = await this.delegate.credentials(this.tokenExpired);
      this.tokenExpired = false;
      if (this.stale(attempt)) return;
      socket = await FrameSocket.open(
        ...this.endpoint(token),
        this.options.createWebSocket,
        this.options.hooks,
        this.options.authTimeoutMs,
      );
      if (this.stale(attempt)) return socket.close(1000, "superseded");
      const current = socket;
      this.socket = current;
      current.attach({ frame: (f) => this.route(f), closed: (code, why) => this.lost(current, code, why) });
      this.delegate.state("authenticating");
      const auth = await this.request(
        Cmd.CMD_AUTH_REQ,
        pb.AuthRequest,
        { userId, token, platform: this.options.platform, features: [...this.options.features] },
        { command: Cmd.CMD_AUTH_RSP, decode: (b) => pb.AuthResponse.decode(b) },
        { timeoutMs: this.options.authTimeoutMs },
      );
      const code = auth.errorCode ?? Err.ERR_SUCCESS;
      if (code === Err.ERR_TOKEN_EXPIRED) {
        this.tokenExpired = true;
        throw new IMProtocolError(code, auth.errorMsg, Cmd.CMD_AUTH_REQ);
      }
      if (code !== Err.ERR_SUCCESS) {
        return this.halt(new IMProtocolError(code, auth.errorMsg, Cmd.CMD_AUTH_REQ), 1000, "auth refused");
      }
      this.authed = true;
      this.startHeartbeat(current);
      this.delegate.state("syncing");
      const maxSeq = Number(auth.maxSeq ?? 0);
      await this.delegate.ready(maxSeq, auth.features ?? []);
      if (this.socket !== current || this.stale(attempt)) return;
      this.backoff.reset();
      this.isReady = true;
      this.delegate.state("ready");
      this.delegate.connected({ maxSeq, reconnected: this.everConnected });
      this.everConnected = true;
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    } catch (error) {
      if (this.stale(attempt)) return;
      if (error instanceof IMHttpError && (error.code === 401 || error.status === 401)) {
        return this.halt(error, 1000, "session expired"); // the refresh token was refused: log in again
      }
      this.delegate.error(error instanceof IMError ? error : new IMConnectionError(String(error)));
      // A live socket reports its own loss (and schedules the retry); a failed open does not.
      if (socket && socket === this.socket) socket.close(1000, "connect failed");
      else if (!socket) this.scheduleReconnect();
    }
  }

  private stale(attempt: number): boolean {
    return this.stopped || attempt !== this.attempt;
  }

  private endpoint(token: string): [string, string[]] {
    if (this.options.tokenTransport === "subprotocol") return [this.options.url, ["im.v1", `token.${token}`]];
    const separator = this.options.url.includes("?") ? "&" : "?";
    return [`${this.options.url}${separator}token=${encodeURIComponent(token)}`, []];
  }

  private route(frame: Frame): void {
    if (frame.command === Cmd.CMD_UNKNOWN) return this.notice(frame);
    if (frame.command === Cmd.CMD_KICK_OUT) return this.kick(frame);
    if (BY_SEQUENCE.has(frame.command) && this.pending.settle(`seq:${frame.sequence}`, frame)) return;
    if (frame.command === Cmd.CMD_SYNC_RANGE_RSP) {
      const requestId = safeDecode(() => pb.SyncRangeResponse.decode(frame.body).requestId);
      if (requestId && this.pending.settle(`range:${requestId}`, frame)) return;
    }
    this.delegate.frame(frame);
  }

  /** ErrorNotice: fails the request it refers to, or is reported as an error. */
  private notice(frame: Frame): void {
    const notice = safeDecode(() => pb.ErrorNotice.decode(frame.body));
    if (!notice) return;
    const error = new IMProtocolError(notice.errorCode, notice.errorMsg, notice.refCommand);
    if (notice.refSequence && this.pending.fail(`seq:${notice.refSequence}`, error)) return;
    this.delegate.error(error);
  }

  private kick(frame: Frame): void {
    const kick = safeDecode(() => pb.KickOutNotification.decode(frame.body));
    this.stopped = true; // before the close arrives: a kicked client must not come straight back
    this.delegate.kicked({ reason: kick?.reason ?? 1, message: kick?.message ?? "" });
  }

  private startHeartbeat(socket: FrameSocket): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      this.request(
        Cmd.CMD_HEARTBEAT_REQ,
        pb.HeartbeatRequest,
        { clientTime: Date.now() },
        { command: Cmd.CMD_HEARTBEAT_RSP, decode: (b) => pb.HeartbeatResponse.decode(b) },
        { timeoutMs: this.options.heartbeatTimeoutMs },
      ).catch(() => {
        // No answer in time: the link is dead even if the socket does not know it yet.
        if (this.socket === socket) socket.close(1000, "heartbeat timeout");
      });
    }, this.options.heartbeatIntervalMs);
  }

  private lost(socket: FrameSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.authed = false;
    this.isReady = false;
    clearInterval(this.heartbeat);
    this.pending.failAll(new IMConnectionError(`connection lost (${code})`));
    // The server closes a kicked socket with 4001 (PROTOCOL.md, decision 14).
    if (code === CloseCode.kicked && !this.stopped) {
      this.stopped = true;
      this.delegate.kicked({ reason: 1, message: reason });
    }
    const willReconnect = !this.stopped;
    this.delegate.disconnected({ code, reason, willReconnect });
    if (willReconnect) this.scheduleReconnect();
    else this.finishStop(new IMConnectionError(`disconnected (${code} ${reason})`.trim()));
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const attempt = ++this.attempt;
    const delayMs = this.backoff.next();
    this.delegate.state("connecting");
    this.delegate.reconnecting({ attempt: this.backoff.count, delayMs });
    this.reconnectTimer = setTimeout(() => void this.open(attempt), delayMs);
  }

  /** Stops for good, closing the socket (its loss is then reported with willReconnect false). */
  private halt(error: IMError, code: number, reason: string): void {
    const wasStopped = this.stopped;
    this.stopped = true;
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    if (!wasStopped && error.kind !== "connection") this.delegate.error(error);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    // A live socket's loss is reported (disconnected, willReconnect false) and finishes the stop.
    if (this.socket) this.socket.close(code, reason);
    else this.finishStop(error);
  }

  private finishStop(error: Error): void {
    clearInterval(this.heartbeat);
    this.delegate.state("stopped");
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }
}

function safeDecode<T>(decode: () => T): T | null {
  try {
    return decode();
  } catch {
    return null;
  }
}
