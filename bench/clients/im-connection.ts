// A lean client of the IM server's real protocol: protobuf WebSocketMessage frames over `ws`, as the
// SDK sends them. Requests are matched to responses by sequence; pushes (PUSH_MSG and BATCH_MSG)
// go to `onPush` and are answered with MSG_ACK, as the SDK does.
import WebSocket from "ws";
import { im } from "../../src/protocol/generated/im.js";
import type { Account } from "../lib/accounts.ts";
import { PendingRequests } from "./pending.ts";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;
const Err = im.protocol.ErrorCode;
export type MessageInfo = im.protocol.MessageInfo;

type Encoder<T> = { encode(message: T): { finish(): Uint8Array } };
type Decoder<T> = { decode(bytes: Uint8Array): T };

const REQUEST_TIMEOUT_MS = 15_000;
const textEncoder = new TextEncoder();

/** The one-to-one conversation id: the two user ids sorted (PROTOCOL.md, "Conversation ids"). */
export function singleConversationId(a: string, b: string): string {
  return a < b ? `single_${a}_${b}` : `single_${b}_${a}`;
}

export function wsUrl(origin: string, path: string): string {
  return origin.replace(/^http/, "ws") + path;
}

/**
 * What the bench clients (WebSocket and TCP) do with a frame from the server: pushes go to `pushed`,
 * an ErrorNotice fails the request it names, anything else answers the request of its sequence.
 */
export function routeServerFrame(
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

export class ImConnection {
  private sequence = 1;
  private readonly pending = new PendingRequests<Uint8Array>();
  /** Called for each pushed message, in arrival order. */
  onPush: ((message: MessageInfo) => void) | null = null;
  /** Answer each push with MSG_ACK, as the SDK does. */
  ackPushes = true;
  closed = false;
  /** AuthResponse.max_seq: the user's inbox sequence when the socket authenticated. */
  authMaxSeq = 0;
  /** Bytes of all frames received. */
  bytesReceived = 0;

  private readonly ws: WebSocket;
  readonly userId: string;

  private constructor(ws: WebSocket, userId: string) {
    this.ws = ws;
    this.userId = userId;
    ws.on("message", (data: Buffer) => this.receive(data));
    ws.on("close", () => {
      this.closed = true;
      this.pending.rejectAll(new Error("socket closed"));
    });
    ws.on("error", () => {
      // "close" follows and fails what is pending
    });
  }

  /** Opens the socket (token in the query, as the SDK does) and authenticates with AUTH_REQ. */
  static async open(origin: string, account: Account, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ImConnection> {
    const ws = new WebSocket(wsUrl(origin, `/ws?token=${encodeURIComponent(account.token)}`), {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
      );
    });
    const connection = new ImConnection(ws, account.userId);
    const auth = await connection.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId: account.userId, token: account.token, platform: "bench" },
      pb.AuthResponse,
      timeoutMs,
    );
    if ((auth.errorCode ?? 0) !== Err.ERR_SUCCESS) {
      connection.close();
      throw new Error(`auth failed: ${auth.errorCode} ${auth.errorMsg}`);
    }
    connection.authMaxSeq = Number(auth.maxSeq ?? 0);
    return connection;
  }

  private receive(data: Buffer): void {
    this.bytesReceived += data.byteLength;
    const frame = pb.WebSocketMessage.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    routeServerFrame(frame, this.pending, (messages) => this.pushed(messages));
  }

  private pushed(messages: MessageInfo[]): void {
    for (const m of messages) {
      this.onPush?.(m);
      if (this.ackPushes)
        this.post(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: m.seq });
    }
  }

  /** Sends a frame that has no answer; returns its sequence. */
  post<T>(command: im.protocol.CommandType, type: Encoder<T>, body: T): number {
    const sequence = this.sequence++;
    const bytes = pb.WebSocketMessage.encode({
      command,
      sequence,
      body: type.encode(body).finish(),
      timestamp: Date.now(),
    }).finish();
    this.ws.send(bytes);
    return sequence;
  }

  async request<Req, Res>(
    command: im.protocol.CommandType,
    type: Encoder<Req>,
    body: Req,
    decoder: Decoder<Res>,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Res> {
    if (this.closed) throw new Error("socket closed");
    const sequence = this.post(command, type, body);
    return decoder.decode(await this.pending.wait(sequence, timeoutMs, `command ${command}`));
  }

  /** SEND_MSG_REQ in a one-to-one conversation; resolves with SEND_MSG_RSP, rejects on an error code. */
  async sendText(to: string, text: string): Promise<im.protocol.SendMessageResponse> {
    return this.sendTo(singleConversationId(this.userId, to), to, text);
  }

  /** Sends text to any conversation (a group's receiver is the group itself: "" here). */
  async sendTo(
    conversationId: string,
    receiverId: string,
    text: string,
  ): Promise<im.protocol.SendMessageResponse> {
    const response = await this.request(
      Cmd.CMD_SEND_MSG_REQ,
      pb.SendMessageRequest,
      {
        message: {
          clientMsgId: crypto.randomUUID(),
          conversationId,
          senderId: this.userId,
          receiverId,
          messageType: 1,
          content: textEncoder.encode(text),
          sendTime: Date.now(),
        },
      },
      pb.SendMessageResponse,
    );
    if ((response.errorCode ?? 0) !== Err.ERR_SUCCESS) {
      throw new Error(`send refused: ${response.errorCode} ${response.errorMsg}`);
    }
    return response;
  }

  async heartbeat(): Promise<void> {
    await this.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      { clientTime: Date.now() },
      pb.HeartbeatResponse,
    );
  }

  batchSync(
    states: { conversationId: string; lastSeq: number }[],
    maxCountPerConversation = 0,
  ): Promise<im.protocol.BatchSyncResponse> {
    return this.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      { conversationStates: states, maxCountPerConversation, followsHasMore: true },
      pb.BatchSyncResponse,
    );
  }

  syncRange(
    conversationId: string,
    startSeq: number,
    endSeq: number,
    count: number,
  ): Promise<im.protocol.SyncRangeResponse> {
    return this.request(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      { requestId: `${conversationId}:${startSeq}`, conversationId, startSeq, endSeq, count },
      pb.SyncRangeResponse,
    );
  }

  close(): void {
    this.closed = true;
    this.ws.close(1000);
  }

  /** Drops the TCP connection without a close handshake (for thousands of sockets at the end). */
  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }
}
