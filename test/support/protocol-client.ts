// The one client of the realtime protocol that the tests, the chaos test and the bench share:
// protobuf WebSocketMessage frames (src/protocol/codec.ts) over any socket that can send bytes.
// The socket's owner feeds it what arrives (`receive`, `ended`); it numbers requests, matches each
// answer by sequence and command within a time limit, fails a request on the ErrorNotice that names
// it or on the close, hands pushes to `onPush` (answered with MSG_ACK as the SDK does when
// `ackPushes`), and keeps what nothing waited for (with `queue`) for `next` and the drains.
import {
  Cmd,
  decodeFrame,
  encodeFrame,
  Err,
  pb,
  type Encoder,
  type Frame,
  type MessageInfo,
} from "../../src/protocol/codec.ts";

/** What the client needs of a socket: workerd's WebSocket, a `ws` WebSocket, anything framed. */
export interface WireSocket {
  send(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake (falls back to `close`). */
  terminate?(): void;
  /** False once the socket is closing; without it only the close the owner reports counts. */
  readonly isOpen?: boolean;
}

export interface Decoder<T> {
  decode(bytes: Uint8Array): T;
}

export interface ProtocolClientOptions {
  /** The default time limit of a request's answer and of `next`. */
  timeoutMs: number;
  /** Keep the frames no request or `next` took, for `next` and the drains (else they are dropped). */
  queue: boolean;
  /** Throw on a frame from the server larger than this (PROTOCOL.md, decision 9). */
  maxFrameBytes?: number;
  /** Ignore text frames instead of throwing on them (the server only sends binary frames). */
  ignoreText?: boolean;
}

/** A request failed because the socket closed (or was closed) before its answer. */
export class SocketClosedError extends Error {}

interface Pending {
  response: number;
  decoder: Decoder<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

const isPush = (frame: { command: number }): boolean =>
  frame.command === Cmd.CMD_PUSH_MSG || frame.command === Cmd.CMD_BATCH_MSG;

export class ProtocolClient {
  /** Called with each pushed message (PUSH_MSG or BATCH_MSG), in arrival order. */
  onPush: ((message: MessageInfo) => void) | null = null;
  /** Answer each pushed message with its own MSG_ACK, as the SDK does. */
  ackPushes = false;
  /** Bytes of all frames received, and the largest frame. */
  bytesReceived = 0;
  largestFrame = 0;
  /** Resolves with the close once the owner reports it. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private sequence = 1;
  private done = false;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters: Waiter[] = [];
  private readonly frames: Frame[] = [];
  /** Arrival order of each queued frame, so a drain can tell what came before a given frame. */
  private readonly arrival = new WeakMap<Frame, number>();
  private arrivals = 0;
  private readonly socket: WireSocket;
  private readonly options: ProtocolClientOptions;
  private reportClose: (close: { code: number; reason: string }) => void = () => {};

  constructor(socket: WireSocket, options: ProtocolClientOptions) {
    this.socket = socket;
    this.options = options;
    this.closed = new Promise((resolve) => (this.reportClose = resolve));
  }

  /** True until the socket closes, starts closing, or `close` is called: requests can go out. */
  get isOpen(): boolean {
    return !this.done && this.socket.isOpen !== false;
  }

  /** True once the close was reported or `close` was called. */
  get isClosed(): boolean {
    return this.done;
  }

  /** How many requests are waiting for their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** A frame from the server. Throws on a text frame, an oversized frame or undecodable bytes. */
  receive(data: Uint8Array | string): void {
    if (typeof data === "string") {
      if (this.options.ignoreText) return;
      throw new Error(`server sent a text frame: ${data}`);
    }
    const size = data.byteLength;
    this.bytesReceived += size;
    if (size > this.largestFrame) this.largestFrame = size;
    if (this.options.maxFrameBytes !== undefined && size > this.options.maxFrameBytes)
      throw new Error(`server sent a frame of ${size} bytes`);
    const frame = decodeFrame(data);
    const command = frame.command;
    if (command === Cmd.CMD_PUSH_MSG || command === Cmd.CMD_BATCH_MSG) {
      if (this.onPush || this.ackPushes) this.takePushes(frame);
    } else if (command === Cmd.CMD_UNKNOWN) {
      if (this.pending.size > 0) this.notice(frame);
    } else if (this.settle(frame)) {
      return;
    }
    if (this.waiters.length > 0) {
      const i = this.waiters.findIndex((w) => w.match(frame));
      if (i >= 0) return this.waiters.splice(i, 1)[0]?.resolve(frame);
    }
    if (this.options.queue) {
      this.arrival.set(frame, this.arrivals++);
      this.frames.push(frame);
    }
  }

  /** The socket closed: every request still waiting fails, and `closed` resolves. */
  ended(code: number, reason: string): void {
    this.failed(`socket closed (${code}) before the answer`);
    this.reportClose({ code, reason });
  }

  /** The socket failed (its close is still to come): every request still waiting fails now. */
  failed(why: string): void {
    this.done = true;
    for (const sequence of [...this.pending.keys()]) this.fail(sequence, new SocketClosedError(why));
  }

  /** Sends a frame numbered with the next sequence (nothing waits for an answer); returns it. */
  send<T>(command: Cmd, type: Encoder<T>, body: T): number {
    const sequence = this.sequence++;
    this.socket.send(encodeFrame(command, sequence, type, body));
    return sequence;
  }

  /** Sends bytes as they are (a hand-made or malformed frame). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  /**
   * Sends a request and decodes the answer that repeats its sequence with the `response` command.
   * Rejects after `timeoutMs`, on an ErrorNotice naming it, or when the socket closes first.
   */
  request<Req, Res>(
    command: Cmd,
    type: Encoder<Req>,
    body: Req,
    response: Cmd,
    decoder: Decoder<Res>,
    timeoutMs = this.options.timeoutMs,
  ): Promise<Res> {
    if (!this.isOpen) return Promise.reject(new SocketClosedError("socket is closed"));
    return new Promise<Res>((resolve, reject) => {
      const sequence = this.send(command, type, body);
      const timer = setTimeout(
        () =>
          this.fail(sequence, new Error(`no answer to ${Cmd[command] ?? command} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.set(sequence, {
        response,
        decoder,
        resolve: resolve as Pending["resolve"],
        reject,
        timer,
      });
    });
  }

  /** AUTH_REQ; resolves with AUTH_RSP, whatever its error code. */
  auth(userId: string, token: string, platform = "iOS", timeoutMs?: number) {
    const body = { userId, token, platform };
    return this.request(Cmd.CMD_AUTH_REQ, pb.AuthRequest, body, Cmd.CMD_AUTH_RSP, pb.AuthResponse, timeoutMs);
  }

  /** SEND_MSG_REQ; resolves with SEND_MSG_RSP, whatever its error code. */
  sendMessage(message: MessageInfo) {
    return this.request(
      Cmd.CMD_SEND_MSG_REQ,
      pb.SendMessageRequest,
      { message },
      Cmd.CMD_SEND_MSG_RSP,
      pb.SendMessageResponse,
    );
  }

  /** The next frame that matches (already queued or still to come), taken from the queue. */
  next(match: (frame: Frame) => boolean = () => true, timeoutMs = this.options.timeoutMs): Promise<Frame> {
    const index = this.frames.findIndex(match);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0] as Frame);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  nextCommand(command: Cmd, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.command === command, timeoutMs);
  }

  /** Waits for a matching frame and takes every queued frame that arrived before it. */
  async drainUntil(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame[]> {
    const found = await this.next(match, timeoutMs);
    const cutoff = this.arrival.get(found) ?? Infinity;
    const before = this.frames.filter((f) => (this.arrival.get(f) ?? 0) < cutoff);
    for (const f of before) this.frames.splice(this.frames.indexOf(f), 1);
    return before;
  }

  /** Every queued frame, taken from the queue. */
  drainAll(): Frame[] {
    return this.frames.splice(0, this.frames.length);
  }

  /** True when a frame with this command is queued (not yet taken by `next`). */
  hasQueued(command: Cmd): boolean {
    return this.frames.some((f) => f.command === command);
  }

  /** The messages of the next pushes (PUSH_MSG or BATCH_MSG) until there are `count`, in order. */
  async pushedMessages(count: number, timeoutMs?: number): Promise<MessageInfo[]> {
    const messages: (MessageInfo | null | undefined)[] = [];
    while (messages.length < count) messages.push(...messagesOf(await this.next(isPush, timeoutMs)));
    return messages.filter((m) => m != null);
  }

  /** Pushed messages up to and including the first that matches. */
  async pushedUntil(match: (message: MessageInfo) => boolean, timeoutMs?: number): Promise<MessageInfo[]> {
    const out: MessageInfo[] = [];
    while (!out.some(match)) out.push(...(await this.pushedMessages(1, timeoutMs)));
    return out;
  }

  close(code = 1000, reason = ""): void {
    this.done = true;
    try {
      this.socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.done = true;
    if (this.socket.terminate) this.socket.terminate();
    else this.close();
  }

  private takePushes(frame: Frame): void {
    for (const message of messagesOf(frame)) if (message) this.deliver(message);
  }

  private deliver(message: MessageInfo): void {
    this.onPush?.(message);
    if (this.ackPushes && this.isOpen)
      this.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: message.serverMsgId, seq: message.seq });
  }

  /** ErrorNotice: fails the request it refers to (it is still queued for `next`). */
  private notice(frame: Frame): void {
    const notice = pb.ErrorNotice.decode(frame.body);
    this.fail(notice.refSequence, new Error(`error notice ${notice.errorCode}: ${notice.errorMsg}`));
  }

  /** Completes the request this frame answers; false when it answers none. */
  private settle(frame: Frame): boolean {
    const entry = this.pending.get(frame.sequence);
    if (entry === undefined || entry.response !== frame.command) return false;
    this.pending.delete(frame.sequence);
    clearTimeout(entry.timer);
    try {
      entry.resolve(entry.decoder.decode(frame.body));
    } catch (error) {
      entry.reject(error as Error);
    }
    return true;
  }

  private fail(sequence: number, error: Error): void {
    const entry = this.pending.get(sequence);
    if (entry === undefined) return;
    this.pending.delete(sequence);
    clearTimeout(entry.timer);
    entry.reject(error);
  }
}

/** The messages a PUSH_MSG or BATCH_MSG frame carries. */
export function messagesOf(frame: Frame): (MessageInfo | null | undefined)[] {
  if (frame.command === Cmd.CMD_PUSH_MSG) return [pb.PushMessage.decode(frame.body).message];
  return pb.BatchMessages.decode(frame.body).messages.map((p) => p.message);
}

/** AUTH_REQ; resolves with AUTH_RSP, and closes the client and throws unless it succeeded. */
export async function authenticate(
  client: ProtocolClient,
  userId: string,
  token: string,
  platform: string,
  timeoutMs?: number,
) {
  const auth = await client.auth(userId, token, platform, timeoutMs);
  if ((auth.errorCode ?? Err.ERR_SUCCESS) !== Err.ERR_SUCCESS) {
    client.close();
    throw new Error(`auth failed: ${auth.errorCode} ${auth.errorMsg}`);
  }
  return auth;
}

const textEncoder = new TextEncoder();

/** A text message as the SDK sends it (message_type 1), ready for `sendMessage`. */
export function textMessage(
  conversationId: string,
  senderId: string,
  receiverId: string,
  text: string,
  clientMsgId: string = crypto.randomUUID(),
): MessageInfo {
  const content = textEncoder.encode(text);
  return { clientMsgId, conversationId, senderId, receiverId, messageType: 1, content, sendTime: Date.now() };
}
