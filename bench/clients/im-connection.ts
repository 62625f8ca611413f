// A lean client of the IM server's real protocol: the shared protocol client
// (test/support/protocol-client.ts) over `ws`, as the SDK sends frames. Requests are matched to
// responses by sequence; pushes (PUSH_MSG and BATCH_MSG) go to `onPush` and are answered with
// MSG_ACK, as the SDK does; nothing is queued.
import { Cmd, Err, pb, type Encoder, type MessageInfo } from "../../src/protocol/codec.ts";
import { singleConversationId } from "../../src/protocol/conversation-id.ts";
import type { im } from "../../src/protocol/generated/im.js";
import {
  authenticate,
  ProtocolClient,
  textMessage,
  type Decoder,
} from "../../test/support/protocol-client.ts";
import { feedFrom, openWebSocket, wsSocket } from "../../test/support/ws-socket.ts";
import type { Account } from "../lib/accounts.ts";

export { Cmd, pb } from "../../src/protocol/codec.ts";
export { singleConversationId };
export type { MessageInfo } from "../../src/protocol/codec.ts";

const REQUEST_TIMEOUT_MS = 15_000;

export function wsUrl(origin: string, path: string): string {
  return origin.replace(/^http/, "ws") + path;
}

export class ImConnection {
  /** AuthResponse.max_seq: the user's inbox sequence when the socket authenticated. */
  authMaxSeq = 0;

  private readonly client: ProtocolClient;
  readonly userId: string;

  private constructor(client: ProtocolClient, userId: string) {
    this.client = client;
    this.userId = userId;
    client.ackPushes = true;
  }

  /** Opens the socket (token in the query, as the SDK does) and authenticates with AUTH_REQ. */
  static async open(origin: string, account: Account, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ImConnection> {
    const ws = await openWebSocket(wsUrl(origin, `/ws?token=${encodeURIComponent(account.token)}`), {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    const client = new ProtocolClient(wsSocket(ws), { timeoutMs: REQUEST_TIMEOUT_MS, queue: false });
    feedFrom(ws, client);
    const connection = new ImConnection(client, account.userId);
    const auth = await authenticate(client, account.userId, account.token, "bench", timeoutMs);
    connection.authMaxSeq = Number(auth.maxSeq ?? 0);
    return connection;
  }

  /** Called for each pushed message, in arrival order. */
  get onPush(): ((message: MessageInfo) => void) | null {
    return this.client.onPush;
  }

  set onPush(handler: ((message: MessageInfo) => void) | null) {
    this.client.onPush = handler;
  }

  get closed(): boolean {
    return this.client.isClosed;
  }

  /** Bytes of all frames received. */
  get bytesReceived(): number {
    return this.client.bytesReceived;
  }

  request<Req, Res>(
    command: Cmd,
    type: Encoder<Req>,
    body: Req,
    response: Cmd,
    decoder: Decoder<Res>,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Res> {
    return this.client.request(command, type, body, response, decoder, timeoutMs);
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
    const response = await this.client.sendMessage(
      textMessage(conversationId, this.userId, receiverId, text),
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
      Cmd.CMD_HEARTBEAT_RSP,
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
      Cmd.CMD_BATCH_SYNC_RSP,
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
      Cmd.CMD_SYNC_RANGE_RSP,
      pb.SyncRangeResponse,
    );
  }

  close(): void {
    this.client.close(1000);
  }

  /** Drops the TCP connection without a close handshake (for thousands of sockets at the end). */
  terminate(): void {
    this.client.terminate();
  }
}
