// A protocol client for the chaos test: the shared protocol client (test/support/protocol-client.ts)
// over a `ws` WebSocket, built to lose its server. Every pending request fails the moment the
// socket closes (a killed runtime answers nothing), pushes are counted and dropped instead of
// queued, and every request has a time limit.
import { Cmd, pb, type Encoder, type MessageInfo } from "../../src/protocol/codec.ts";
import { authenticate, ProtocolClient, type Decoder } from "../support/protocol-client.ts";
import { feedFrom, openWebSocket, wsSocket } from "../support/ws-socket.ts";

export { Cmd, Err, pb, type MessageInfo } from "../../src/protocol/codec.ts";
export { SocketClosedError } from "../support/protocol-client.ts";

export class ChaosClient {
  /** server_msg_ids pushed to this client, and how many pushes repeated one already seen. */
  readonly pushedIds = new Set<string>();
  duplicatePushes = 0;
  /** What this device holds, per conversation: seq → server_msg_id (from pushes and syncs). */
  readonly held = new Map<string, Map<number, string>>();

  private constructor(private readonly client: ProtocolClient) {
    client.onPush = (message) => this.notePush(message);
  }

  /** Acks every pushed message with its own MSG_ACK, as the SDK does. */
  get acksPushes(): boolean {
    return this.client.ackPushes;
  }

  set acksPushes(on: boolean) {
    this.client.ackPushes = on;
  }

  private notePush(message: MessageInfo): void {
    const id = message.serverMsgId;
    if (!id) return;
    if (this.pushedIds.has(id)) this.duplicatePushes++;
    else this.pushedIds.add(id);
    this.hold([message]);
  }

  /** Records messages as held by this device (its store, deduplicated as the SDK's is). */
  hold(messages: readonly MessageInfo[]): void {
    for (const m of messages) {
      if (!m.conversationId || !m.serverMsgId) continue;
      const seqs = this.held.get(m.conversationId) ?? new Map<number, string>();
      seqs.set(Number(m.seq), m.serverMsgId);
      this.held.set(m.conversationId, seqs);
    }
  }

  get open(): boolean {
    return this.client.isOpen;
  }

  /** Opens /ws?token=… and authenticates; throws when either fails within `timeoutMs`. */
  static async connect(
    wsOrigin: string,
    userId: string,
    token: string,
    timeoutMs = 15_000,
    platform = "iOS",
  ) {
    const ws = await openWebSocket(`${wsOrigin}/ws?token=${encodeURIComponent(token)}`, {
      handshakeTimeout: timeoutMs,
    });
    const client = new ProtocolClient(wsSocket(ws), { timeoutMs: 20_000, queue: false, ignoreText: true });
    feedFrom(ws, client);
    await authenticate(client, userId, token, platform, timeoutMs);
    return new ChaosClient(client);
  }

  request<Req, Res>(
    command: Cmd,
    type: Encoder<Req>,
    body: Req,
    response: Cmd,
    decoder: Decoder<Res>,
    timeoutMs?: number,
  ): Promise<Res> {
    return this.client.request(command, type, body, response, decoder, timeoutMs);
  }

  /** How many requests are waiting for their response. */
  get inFlight(): number {
    return this.client.inFlight;
  }

  send(message: MessageInfo) {
    return this.client.sendMessage(message);
  }

  syncRange(conversationId: string, startSeq: number, endSeq = 0, count = 500) {
    return this.request(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      { requestId: crypto.randomUUID(), conversationId, startSeq, endSeq, count },
      Cmd.CMD_SYNC_RANGE_RSP,
      pb.SyncRangeResponse,
    );
  }

  batchSync(
    states: { conversationId: string; lastSeq: number }[],
    maxCountPerConversation = 100,
    followsHasMore = true,
  ) {
    return this.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      { conversationStates: states, maxCountPerConversation, followsHasMore },
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
  }

  close(): void {
    this.client.close();
  }
}
