// A protocol client for the chaos test: protobuf frames over a `ws` WebSocket, like
// test/node/helpers/im-client.ts, but built to lose its server. Every pending request fails the
// moment the socket closes (a killed runtime answers nothing), pushes are counted and dropped
// instead of queued, and every request has a time limit.
import WebSocket from "ws";
import { im } from "../../src/protocol/generated/im.js";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;
export const Err = im.protocol.ErrorCode;
export type MessageInfo = im.protocol.IMessageInfo;

type Encoder<T> = { encode(message: T): { finish(): Uint8Array } };
type Decoder<T> = { decode(bytes: Uint8Array): T };

interface Pending {
  response: number;
  resolve: (body: Uint8Array) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class SocketClosedError extends Error {}

export class ChaosClient {
  private readonly pending = new Map<number, Pending>();
  private sequence = 1;
  private isOpen = true;
  /** server_msg_ids pushed to this client, and how many pushes repeated one already seen. */
  readonly pushedIds = new Set<string>();
  duplicatePushes = 0;
  /** What this device holds, per conversation: seq → server_msg_id (from pushes and syncs). */
  readonly held = new Map<string, Map<number, string>>();
  /** Acks every pushed message with its own MSG_ACK, as the SDK does. */
  acksPushes = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = pb.WebSocketMessage.decode(new Uint8Array(data));
      if (frame.command === Cmd.CMD_PUSH_MSG) {
        this.notePush(pb.PushMessage.decode(frame.body).message);
      } else if (frame.command === Cmd.CMD_BATCH_MSG) {
        for (const push of pb.BatchMessages.decode(frame.body).messages) this.notePush(push.message);
      }
      const waiter = this.pending.get(frame.sequence);
      if (frame.sequence !== 0 && waiter && waiter.response === frame.command) {
        this.pending.delete(frame.sequence);
        clearTimeout(waiter.timer);
        waiter.resolve(frame.body);
      }
    });
    const closeAll = () => {
      this.isOpen = false;
      for (const sequence of [...this.pending.keys()]) {
        this.fail(sequence, new SocketClosedError("socket closed before the response"));
      }
    };
    ws.on("close", closeAll);
    ws.on("error", closeAll);
  }

  private fail(sequence: number, error: Error): void {
    const waiter = this.pending.get(sequence);
    if (!waiter) return;
    this.pending.delete(sequence);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  private notePush(message: MessageInfo | null | undefined): void {
    const id = message?.serverMsgId;
    if (!id || !message) return;
    if (this.pushedIds.has(id)) this.duplicatePushes++;
    else this.pushedIds.add(id);
    this.hold([message]);
    if (this.acksPushes && this.open) {
      const frame = pb.WebSocketMessage.encode({
        command: Cmd.CMD_MSG_ACK,
        sequence: this.sequence++,
        body: pb.MessageAck.encode({ serverMsgId: id, seq: 0 }).finish(),
        timestamp: Date.now(),
      }).finish();
      this.ws.send(frame, () => {});
    }
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
    return this.isOpen && this.ws.readyState === WebSocket.OPEN;
  }

  /** Opens /ws?token=… and authenticates; throws when either fails within `timeoutMs`. */
  static async connect(
    wsOrigin: string,
    userId: string,
    token: string,
    timeoutMs = 15_000,
    platform = "iOS",
  ) {
    const ws = new WebSocket(`${wsOrigin}/ws?token=${encodeURIComponent(token)}`, {
      handshakeTimeout: timeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const client = new ChaosClient(ws);
    const auth = await client.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId, token, platform },
      Cmd.CMD_AUTH_RSP,
      pb.AuthResponse,
      timeoutMs,
    );
    if ((auth.errorCode ?? 0) !== Err.ERR_SUCCESS) {
      client.close();
      throw new Error(`auth failed: ${auth.errorMsg}`);
    }
    return client;
  }

  request<Req, Res>(
    command: number,
    type: Encoder<Req>,
    body: Req,
    response: number,
    decoder: Decoder<Res>,
    timeoutMs = 20_000,
  ): Promise<Res> {
    if (!this.open) return Promise.reject(new SocketClosedError("socket is closed"));
    const sequence = this.sequence++;
    const frame = pb.WebSocketMessage.encode({
      command,
      sequence,
      body: type.encode(body).finish(),
      timestamp: Date.now(),
    }).finish();
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(sequence, new Error(`no response to command ${command} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.set(sequence, {
        response,
        resolve: (bytes) => resolve(decoder.decode(bytes)),
        reject,
        timer,
      });
      this.ws.send(frame, (error) => {
        if (error) this.fail(sequence, new SocketClosedError(error.message));
      });
    });
  }

  /** How many requests are waiting for their response. */
  get inFlight(): number {
    return this.pending.size;
  }

  send(message: MessageInfo) {
    return this.request(
      Cmd.CMD_SEND_MSG_REQ,
      pb.SendMessageRequest,
      { message },
      Cmd.CMD_SEND_MSG_RSP,
      pb.SendMessageResponse,
    );
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
    this.isOpen = false;
    try {
      this.ws.close(1000);
    } catch {
      // already gone
    }
  }
}
