// A minimal Node client that speaks the SDK's protocol: protobuf frames over a `ws` WebSocket.
import WebSocket from "ws";
import { im } from "../../../src/protocol/generated/im.js";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;
export const Err = im.protocol.ErrorCode;

type Frame = { command: number; sequence: number; body: Uint8Array };
type Encoder<T> = { encode(message: T): { finish(): Uint8Array } };

export class NodeImClient {
  private readonly frames: Frame[] = [];
  private readonly waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private sequence = 1;
  readonly closed: Promise<number>;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error("server sent a text frame");
      // PROTOCOL.md, decision 9: no frame the server sends exceeds the 1 MiB frame limit.
      if (data.byteLength > 1024 * 1024) throw new Error(`server sent a frame of ${data.byteLength} bytes`);
      const decoded = pb.WebSocketMessage.decode(new Uint8Array(data));
      const frame = { command: decoded.command, sequence: decoded.sequence, body: decoded.body };
      const i = this.waiters.findIndex((w) => w.match(frame));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
  }

  static async connect(
    wsOrigin: string,
    userId: string,
    token: string,
    platform = "iOS",
  ): Promise<NodeImClient> {
    const ws = new WebSocket(`${wsOrigin}/ws?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const client = new NodeImClient(ws);
    const auth = await client.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId, token, platform },
      Cmd.CMD_AUTH_RSP,
      pb.AuthResponse,
    );
    if ((auth.errorCode ?? 0) !== Err.ERR_SUCCESS) throw new Error(`auth failed: ${auth.errorMsg}`);
    return client;
  }

  send<T>(command: number, type: Encoder<T>, body: T): number {
    const sequence = this.sequence++;
    const bytes = type.encode(body).finish();
    this.ws.send(
      pb.WebSocketMessage.encode({ command, sequence, body: bytes, timestamp: Date.now() }).finish(),
    );
    return sequence;
  }

  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (f: Frame) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async request<Req, Res>(
    command: number,
    type: Encoder<Req>,
    body: Req,
    response: number,
    decoder: { decode(b: Uint8Array): Res },
  ): Promise<Res> {
    const sequence = this.send(command, type, body);
    const frame = await this.next((f) => f.command === response && f.sequence === sequence);
    return decoder.decode(frame.body);
  }

  sendText(
    conversationId: string,
    from: string,
    to: string,
    text: string,
    clientMsgId: string = crypto.randomUUID(),
  ) {
    return this.request(
      Cmd.CMD_SEND_MSG_REQ,
      pb.SendMessageRequest,
      {
        message: {
          clientMsgId,
          conversationId,
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

  /** The next `count` pushed messages (PUSH_MSG or BATCH_MSG). */
  async pushed(count: number) {
    const out: im.protocol.MessageInfo[] = [];
    while (out.length < count) {
      const frame = await this.next((f) => f.command === Cmd.CMD_PUSH_MSG || f.command === Cmd.CMD_BATCH_MSG);
      if (frame.command === Cmd.CMD_PUSH_MSG)
        out.push(pb.PushMessage.decode(frame.body).message as im.protocol.MessageInfo);
      else
        out.push(
          ...pb.BatchMessages.decode(frame.body).messages.map((p) => p.message as im.protocol.MessageInfo),
        );
    }
    return out;
  }

  /** Pushed messages up to and including the first that matches. */
  async pushedUntil(match: (m: im.protocol.MessageInfo) => boolean) {
    const out: im.protocol.MessageInfo[] = [];
    while (!out.some(match)) out.push(...(await this.pushed(1)));
    return out;
  }

  close(): void {
    this.ws.close(1000);
  }
}
