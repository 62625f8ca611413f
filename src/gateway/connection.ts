// One client: a TCP (or TLS) socket speaking the SDK's framing, bridged to one WebSocket to the
// worker's /ws, opened with the token of the client's first AUTH_REQ.
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import type WebSocket from "ws";
import { answerBeforeAuth, authResponse, Cmd, pb, sdkKnows, withoutFeatures } from "./commands.ts";
import { CorruptStreamError, encodeTcpFrame, FrameDecoder, type TcpFrame } from "./frame-codec.ts";
import {
  AUTH_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  MAX_BODY_BYTES,
  MAX_BYTES_BEFORE_UPSTREAM,
  MAX_CLIENT_WRITE_BUFFER_BYTES,
  MAX_CLOSE_REASON_CHARS,
  MAX_FRAMES_BEFORE_UPSTREAM,
  MAX_PLATFORM_CHARS,
  UPSTREAM_BUFFER_HIGH_BYTES,
  UPSTREAM_BUFFER_LOW_BYTES,
} from "./limits.ts";
import type { Logger } from "./log.ts";
import { openUpstream, upstreamUrl } from "./upstream.ts";

export interface ConnectionOptions {
  /** The worker's WebSocket endpoint, e.g. wss://host/ws. */
  upstream: string;
  slowReaderMs: number;
  log: Logger;
}

type State = "awaiting-auth" | "opening" | "open" | "closed";

/** WebSocket close codes the gateway sends upstream. */
const Close = { normal: 1000, goingAway: 1001 } as const;

let nextId = 1;

export class GatewayConnection {
  readonly id = nextId++;
  /** Settles when the client's socket has closed and the upstream is closing. */
  readonly closed: Promise<void>;

  private readonly socket: Socket;
  private readonly options: ConnectionOptions;
  private readonly decoder = new FrameDecoder();
  private readonly sessionId = randomUUID();
  private state: State = "awaiting-auth";
  private ws: WebSocket | null = null;
  /** Frames from AUTH_REQ on, held while the upstream opens. */
  private held: TcpFrame[] = [];
  private heldBytes = 0;
  /** ConnectRequest.platform from a CONNECT before AUTH, passed on to the worker. */
  private platform: string | null = null;
  private authTimer: NodeJS.Timeout | null;
  private slowTimer: NodeJS.Timeout | null = null;
  /** After our FIN: a peer that never takes the rest or never closes its side is cut. */
  private lingerTimer: NodeJS.Timeout | null = null;
  private readPaused = false;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_TIMEOUT_MS);
    socket.on("timeout", () => this.abort("idle"));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("error", () => {
      // "close" follows
    });
    this.closed = new Promise((resolve) => socket.once("close", () => (this.onSocketClose(), resolve())));
    this.authTimer = setTimeout(() => this.abort("no AUTH_REQ in time"), AUTH_TIMEOUT_MS);
  }

  /** Graceful stop (SIGTERM): the upstream gets 1001, the client a FIN after what was written. */
  shutdown(): void {
    this.closeUpstream(Close.goingAway, "gateway shutting down");
    this.finish();
  }

  /** Cuts the connection at once: a corrupt stream, a stalled reader, a broken rule. */
  abort(reason: string): void {
    if (this.state !== "closed") this.options.log.info(`#${this.id} closed: ${reason}`);
    this.closeUpstream(Close.normal, reason);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.push(chunk)) {
        if (this.socket.destroyed) return;
        this.onFrame(frame);
      }
    } catch (error) {
      this.failed(error);
    }
  }

  /** A corrupt stream, or a fault of the gateway's own: this connection ends, the others go on. */
  private failed(error: unknown): void {
    if (error instanceof CorruptStreamError) return this.abort(error.message);
    this.options.log.warn(
      `#${this.id} internal error: ${error instanceof Error ? error.message : "unknown"}`,
    );
    this.abort("internal error");
  }

  private onFrame(frame: TcpFrame): void {
    switch (this.state) {
      case "awaiting-auth":
        return frame.command === Cmd.CMD_AUTH_REQ ? this.startAuth(frame) : this.answerLocally(frame);
      case "opening":
        this.held.push(frame);
        this.heldBytes += frame.body.byteLength;
        if (this.held.length > MAX_FRAMES_BEFORE_UPSTREAM || this.heldBytes > MAX_BYTES_BEFORE_UPSTREAM)
          this.abort("too much sent before AUTH_RSP");
        return;
      case "open":
        return this.forward(frame);
      case "closed":
        return;
    }
  }

  private answerLocally(frame: TcpFrame): void {
    if (frame.command === Cmd.CMD_CONNECT_REQ) {
      try {
        this.platform =
          pb.ConnectRequest.decode(frame.body).platform.slice(0, MAX_PLATFORM_CHARS) || this.platform;
      } catch {
        // answered as undecodable below
      }
    }
    const answer = answerBeforeAuth(frame, this.sessionId);
    if (answer.frame) this.write(answer.frame);
    if (answer.close) this.finish();
  }

  private startAuth(frame: TcpFrame): void {
    let token = "";
    try {
      token = pb.AuthRequest.decode(frame.body).token;
    } catch {
      // refused below
    }
    if (!token) {
      this.write(
        authResponse(Cmd.CMD_AUTH_RSP, frame.sequence, pb.ErrorCode.ERR_AUTH_FAILED, "token is required"),
      );
      return this.finish();
    }
    this.clearAuthTimer();
    this.state = "opening";
    this.held = [frame];
    this.heldBytes = frame.body.byteLength;
    void openUpstream(upstreamUrl(this.options.upstream, token, this.platform))
      .then((result) => {
        if (this.state === "closed") {
          if (result.ok) result.ws.close(Close.normal, "client left");
          return;
        }
        if (!result.ok) {
          this.options.log.info(`#${this.id} ${result.reason}`);
          this.write(authResponse(Cmd.CMD_AUTH_RSP, frame.sequence, result.errorCode, result.errorMsg));
          return this.finish();
        }
        this.attach(result.ws);
      })
      .catch((error: unknown) => this.failed(error));
  }

  private attach(ws: WebSocket): void {
    this.ws = ws;
    this.state = "open";
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      try {
        this.onUpstreamFrame(data, isBinary);
      } catch (error) {
        this.failed(error);
      }
    });
    ws.on("close", (code: number) => this.onUpstreamClose(code));
    ws.on("error", (error: NodeJS.ErrnoException) =>
      this.options.log.info(`#${this.id} upstream error: ${error.code ?? "unknown"}`),
    );
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const frame of held) this.forward(frame);
  }

  /** Client → worker: the bare body wrapped in the envelope the worker reads (no extensions declared). */
  private forward(tcpFrame: TcpFrame): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    const frame = withoutFeatures(tcpFrame);
    const envelope = pb.WebSocketMessage.encode({
      command: frame.command,
      sequence: frame.sequence,
      body: frame.body,
      timestamp: Date.now(),
    }).finish();
    ws.send(envelope, () => this.maybeResumeReading());
    if (!this.readPaused && ws.bufferedAmount > UPSTREAM_BUFFER_HIGH_BYTES) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private maybeResumeReading(): void {
    if (!this.readPaused || !this.ws || this.ws.bufferedAmount > UPSTREAM_BUFFER_LOW_BYTES) return;
    this.readPaused = false;
    this.socket.resume();
  }

  /** Worker → client: the envelope unwrapped into the TCP header and the bare body. */
  private onUpstreamFrame(data: Buffer, isBinary: boolean): void {
    if (this.socket.destroyed || !isBinary) return;
    let message: ReturnType<typeof pb.WebSocketMessage.decode>;
    try {
      message = pb.WebSocketMessage.decode(data);
    } catch {
      this.options.log.warn(`#${this.id} dropped an undecodable upstream frame`);
      return;
    }
    // A command the SDK's enum lacks would make the SDK drop the connection as corrupt (commands.ts).
    if (!sdkKnows(message.command)) return;
    if (message.body.byteLength > MAX_BODY_BYTES) {
      // The SDK would reject it as corrupt and reconnect; closing does the same without the noise.
      return this.abort(`upstream frame of ${message.body.byteLength} bytes exceeds the SDK's limit`);
    }
    this.write(encodeTcpFrame(message.command, message.sequence, message.body));
  }

  /** Writes to the client; a full socket pauses the upstream, one full too long is closed. */
  private write(frame: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (this.socket.write(frame)) return;
    if (this.socket.writableLength > MAX_CLIENT_WRITE_BUFFER_BYTES) return this.abort("reader too slow");
    this.ws?.pause();
    this.slowTimer ??= setTimeout(() => this.abort("reader too slow"), this.options.slowReaderMs);
  }

  private onDrain(): void {
    if (this.slowTimer) clearTimeout(this.slowTimer);
    this.slowTimer = null;
    if (this.state === "open") this.ws?.resume();
  }

  /** The worker closed (e.g. 4001 after KICK_OUT, 1008): the client gets what came before, then FIN. */
  private onUpstreamClose(code: number): void {
    if (this.state !== "closed") this.options.log.info(`#${this.id} upstream closed ${code}`);
    this.state = "closed";
    this.finish();
  }

  /** Ends the client's socket after its pending output; a reader that never takes it is cut. */
  private finish(): void {
    this.state = "closed";
    this.clearAuthTimer();
    if (this.socket.destroyed) return;
    this.socket.end();
    this.lingerTimer ??= setTimeout(() => this.socket.destroy(), this.options.slowReaderMs);
  }

  private closeUpstream(code: number, reason: string): void {
    this.state = "closed";
    this.clearAuthTimer();
    const ws = this.ws;
    if (ws && (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING))
      ws.close(code, reason.slice(0, MAX_CLOSE_REASON_CHARS));
  }

  private onSocketClose(): void {
    this.closeUpstream(Close.normal, "client closed");
    if (this.slowTimer) clearTimeout(this.slowTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.slowTimer = this.lingerTimer = null;
  }

  private clearAuthTimer(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = null;
  }
}
