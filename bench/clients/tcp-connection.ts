// The same lean client as im-connection.ts, over the TCP gateway: the SDK's 16-byte header and bare
// protobuf bodies on a plain socket. Requests are matched by header sequence; pushes go to `onPush`
// and are answered with MSG_ACK, as the SDK does.
import { connect, type Socket } from "node:net";
import { im } from "../../src/protocol/generated/im.js";
import { encodeTcpFrame, FrameDecoder } from "../../src/gateway/frame-codec.ts";
import type { Account } from "../lib/accounts.ts";
import { singleConversationId, type MessageInfo } from "./im-connection.ts";
import { PendingRequests } from "./pending.ts";

const pb = im.protocol;
const Cmd = im.protocol.CommandType;
const Err = im.protocol.ErrorCode;

type Encoder<T> = { encode(message: T): { finish(): Uint8Array } };
type Decoder<T> = { decode(bytes: Uint8Array): T };

const REQUEST_TIMEOUT_MS = 15_000;
const textEncoder = new TextEncoder();

/**
 * What the client does with a frame from the server: pushes go to `pushed`, an ErrorNotice fails
 * the request it names, anything else answers the request of its sequence.
 */
function routeServerFrame(
  frame: { command: number; sequence: number; body: Uint8Array },
  pending: PendingRequests<Uint8Array>,
  pushed: (messages: MessageInfo[]) => void,
): void {
  switch (frame.command) {
    case Cmd.CMD_PUSH_MSG:
      return pushed([pb.PushMessage.decode(frame.body).message as MessageInfo]);
    case Cmd.CMD_BATCH_MSG:
      return pushed(pb.BatchMessages.decode(frame.body).messages.map((p) => p.message as MessageInfo));
    case Cmd.CMD_UNKNOWN: {
      const notice = pb.ErrorNotice.decode(frame.body);
      pending.reject(notice.refSequence, new Error(`error notice ${notice.errorCode}: ${notice.errorMsg}`));
      return;
    }
    default:
      pending.resolve(frame.sequence, frame.body);
  }
}

export class TcpConnection {
  private sequence = 1;
  private readonly pending = new PendingRequests<Uint8Array>();
  private readonly decoder = new FrameDecoder();
  onPush: ((message: MessageInfo) => void) | null = null;
  closed = false;

  private readonly socket: Socket;
  readonly userId: string;

  private constructor(socket: Socket, userId: string) {
    this.socket = socket;
    this.userId = userId;
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk))
        routeServerFrame(frame, this.pending, (messages) => this.pushed(messages));
    });
    socket.on("close", () => {
      this.closed = true;
      this.pending.rejectAll(new Error("socket closed"));
    });
    socket.on("error", () => {
      // "close" follows and fails what is pending
    });
  }

  /** Connects to the gateway and authenticates with AUTH_REQ (the token opens the upstream socket). */
  static async open(port: number, account: Account): Promise<TcpConnection> {
    const socket = connect({ port, host: "127.0.0.1", noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const connection = new TcpConnection(socket, account.userId);
    const auth = await connection.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId: account.userId, token: account.token, platform: "bench" },
      pb.AuthResponse,
    );
    if ((auth.errorCode ?? 0) !== Err.ERR_SUCCESS) {
      connection.close();
      throw new Error(`auth failed: ${auth.errorCode} ${auth.errorMsg}`);
    }
    return connection;
  }

  private pushed(messages: MessageInfo[]): void {
    for (const m of messages) {
      this.onPush?.(m);
      this.post(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: 0 });
    }
  }

  post<T>(command: number, type: Encoder<T>, body: T): number {
    const sequence = this.sequence++;
    this.socket.write(encodeTcpFrame(command, sequence, type.encode(body).finish()));
    return sequence;
  }

  async request<Req, Res>(
    command: number,
    type: Encoder<Req>,
    body: Req,
    decoder: Decoder<Res>,
  ): Promise<Res> {
    if (this.closed) throw new Error("socket closed");
    const sequence = this.post(command, type, body);
    return decoder.decode(await this.pending.wait(sequence, REQUEST_TIMEOUT_MS, `command ${command}`));
  }

  async sendText(to: string, text: string): Promise<void> {
    const response = await this.request(
      Cmd.CMD_SEND_MSG_REQ,
      pb.SendMessageRequest,
      {
        message: {
          clientMsgId: crypto.randomUUID(),
          conversationId: singleConversationId(this.userId, to),
          senderId: this.userId,
          receiverId: to,
          messageType: 1,
          content: textEncoder.encode(text),
          sendTime: Date.now(),
        },
      },
      pb.SendMessageResponse,
    );
    if ((response.errorCode ?? 0) !== Err.ERR_SUCCESS)
      throw new Error(`send refused: ${response.errorCode} ${response.errorMsg}`);
  }

  /** HEARTBEAT_REQ with an empty body, as the SDK sends it. */
  async heartbeat(): Promise<void> {
    if (this.closed) throw new Error("socket closed");
    const sequence = this.sequence++;
    this.socket.write(encodeTcpFrame(Cmd.CMD_HEARTBEAT_REQ, sequence, new Uint8Array()));
    await this.pending.wait(sequence, REQUEST_TIMEOUT_MS, "heartbeat");
  }

  close(): void {
    this.closed = true;
    this.socket.end();
  }

  terminate(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
