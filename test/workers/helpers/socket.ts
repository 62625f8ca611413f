// A protocol client over a real WebSocket opened through the worker's fetch (Upgrade: websocket).
import { exports } from "cloudflare:workers";
import {
  Cmd,
  decodeFrame,
  encodeFrame,
  Err,
  pb,
  type Encoder,
  type Frame,
} from "../../../src/protocol/codec";
import { singleConversationId } from "../../../src/protocol/conversation-id";
import { MAX_FRAME_BYTES } from "../../../src/protocol/limits";
import { ORIGIN, type TestUser } from "./http";

const DEFAULT_WAIT_MS = 5_000;

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

export class TestSocket {
  private readonly frames: Frame[] = [];
  /** Arrival order of each frame, so a drain can tell what came before a given frame. */
  private readonly arrival = new WeakMap<Frame, number>();
  private arrivals = 0;
  private readonly waiters: Waiter[] = [];
  private nextSequence = 1;
  /** The largest frame the server sent on this socket. */
  largestFrame = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") throw new Error(`server sent a text frame: ${event.data}`);
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      // No frame the server sends may exceed the frame limit (PROTOCOL.md, decision 9): every
      // test's every frame is held to it.
      this.largestFrame = Math.max(this.largestFrame, bytes.byteLength);
      if (bytes.byteLength > MAX_FRAME_BYTES)
        throw new Error(`server sent a frame of ${bytes.byteLength} bytes`);
      const frame = decodeFrame(bytes);
      this.arrival.set(frame, this.arrivals++);
      const waiter = this.waiters.findIndex((w) => w.match(frame));
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0]?.resolve(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }));
    });
  }

  /** Opens /ws with the token in the query, as the SDK does. */
  static async open(token: string, query = ""): Promise<TestSocket> {
    const response = await exports.default.fetch(`${ORIGIN}/ws?token=${encodeURIComponent(token)}${query}`, {
      headers: { Upgrade: "websocket" },
    });
    const ws = response.webSocket;
    if (!ws) throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
    // Newer compatibility dates deliver binary frames as Blob by default.
    ws.binaryType = "arraybuffer";
    ws.accept();
    return new TestSocket(ws);
  }

  /** Opens a socket and authenticates it; fails the test unless AUTH succeeds. */
  static async connect(user: TestUser, platform = "iOS"): Promise<TestSocket> {
    const socket = await TestSocket.open(user.token, `&platform=${platform}`);
    const auth = await socket.auth(user.userId, user.token, platform);
    if (auth.errorCode !== Err.ERR_SUCCESS) throw new Error(`auth failed: ${auth.errorMsg}`);
    return socket;
  }

  send<T>(command: Cmd, type: Encoder<T>, body: T): number {
    const sequence = this.nextSequence++;
    this.ws.send(encodeFrame(command, sequence, type, body));
    return sequence;
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** The next frame that matches (already received or still to come), removed from the queue. */
  next(match: (frame: Frame) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
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

  /** Waits for a matching frame and returns (and removes) every frame that arrived before it. */
  async drainUntil(match: (frame: Frame) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame[]> {
    const found = await this.next(match, timeoutMs);
    const cutoff = this.arrival.get(found) ?? Infinity;
    const before = this.frames.filter((f) => (this.arrival.get(f) ?? 0) < cutoff);
    for (const f of before) this.frames.splice(this.frames.indexOf(f), 1);
    return before;
  }

  /** Every frame received and not yet taken, removed from the queue. */
  drainAll(): Frame[] {
    return this.frames.splice(0, this.frames.length);
  }

  nextCommand(command: Cmd, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.command === command, timeoutMs);
  }

  /** Sends a request and decodes the response that repeats its sequence. */
  async request<Req, Res>(
    command: Cmd,
    type: Encoder<Req>,
    body: Req,
    response: Cmd,
    decoder: { decode(bytes: Uint8Array): Res },
  ): Promise<Res> {
    const sequence = this.send(command, type, body);
    const frame = await this.next((f) => f.command === response && f.sequence === sequence);
    return decoder.decode(frame.body);
  }

  auth(userId: string, token: string, platform = "iOS") {
    return this.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId, token, platform },
      Cmd.CMD_AUTH_RSP,
      pb.AuthResponse,
    );
  }

  /** Sends a text message to `to` and returns SEND_MSG_RSP. */
  sendText(from: string, to: string, text: string, clientMsgId: string = crypto.randomUUID()) {
    return this.request(
      Cmd.CMD_SEND_MSG_REQ,
      pb.SendMessageRequest,
      {
        message: {
          clientMsgId,
          conversationId: singleConversationId(from, to),
          senderId: from,
          receiverId: to,
          messageType: 1,
          content: new TextEncoder().encode(text),
          sendTime: Date.now(),
        },
      },
      Cmd.CMD_SEND_MSG_RSP,
      pb.SendMessageResponse,
    );
  }

  /** Waits for `count` pushed messages (PUSH_MSG or BATCH_MSG), in arrival order. */
  async pushedMessages(count: number, timeoutMs?: number) {
    const messages = [];
    while (messages.length < count) {
      const frame = await this.next(
        (f) => f.command === Cmd.CMD_PUSH_MSG || f.command === Cmd.CMD_BATCH_MSG,
        timeoutMs,
      );
      if (frame.command === Cmd.CMD_PUSH_MSG) messages.push(pb.PushMessage.decode(frame.body).message);
      else messages.push(...pb.BatchMessages.decode(frame.body).messages.map((p) => p.message));
    }
    return messages.filter((m) => m != null);
  }

  /** True when a frame with this command is already queued (not yet taken by `next`). */
  hasQueued(command: Cmd): boolean {
    return this.frames.some((f) => f.command === command);
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
}

export const text = (bytes: Uint8Array | null | undefined) =>
  new TextDecoder().decode(bytes ?? new Uint8Array());
