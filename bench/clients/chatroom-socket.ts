// A lean client of one chatroom socket (/ws/chatroom/:id, docs/CHATROOMS.md) for the bench: the
// room's frames over `ws` without the SDK's timeline, so thousands of listeners fit in one process.
// It waits for CHATROOM_JOINED, hands each push's messages to `onMessages`, acknowledges at the SDK's
// cadence (src/client/chatroom-acks.ts: every 100 messages or 2 s) and matches sends to their
// CHATROOM_SEND_RSP by client_msg_id.
import WebSocket from "ws";
import { AckCadence } from "../../src/client/chatroom-acks.ts";
import { Cmd, decodeFrame, encodeFrame, Err, pb, type Encoder } from "../../src/protocol/codec.ts";
import type { im } from "../../src/protocol/generated/im.js";
import { wsUrl } from "./im-connection.ts";

export type RoomMessage = im.protocol.ChatroomMessage.$Properties;
type Joined = im.protocol.ChatroomJoined;
type SendAnswer = im.protocol.ChatroomSendResponse;

const REQUEST_TIMEOUT_MS = 15_000;
const encoder = new TextEncoder();

/** Creates an open room through the HTTP API as its creator; returns its id. */
export async function createRoom(origin: string, token: string, name: string): Promise<string> {
  const response = await fetch(`${origin}/api/chatrooms`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ name, access: "open" }),
    signal: AbortSignal.timeout(30_000),
  });
  const envelope = (await response.json()) as {
    code: number;
    message: string;
    data?: { chatroom?: { id?: string } };
  };
  const id = envelope.data?.chatroom?.id;
  if (envelope.code !== 0 || !id) throw new Error(`chatroom create: ${envelope.code} ${envelope.message}`);
  return id;
}

export class ChatroomSocket {
  /** Each push's messages, in arrival order. */
  onMessages: ((messages: RoomMessage[]) => void) | null = null;
  /** The close, once it happened. */
  closedWith: { code: number; reason: string } | null = null;
  /** The highest seq received; acknowledged at the SDK's cadence. */
  highest = 0;
  /** CHATROOM_JOINED, once it came. */
  joined: Joined | null = null;

  private sequence = 1;
  private readonly ws: WebSocket;
  private readonly acks: AckCadence;
  private readonly sends = new Map<
    string,
    { resolve: (answer: SendAnswer) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private joinedOrFailed: { resolve: () => void; reject: (error: Error) => void } | null = null;

  /**
   * Listens before the socket opens: CHATROOM_JOINED (and pushes after it) can come in the same read
   * as the upgrade's answer, and `ws` emits them right after "open", before code awaiting the open
   * could listen.
   */
  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.acks = new AckCadence(() => this.send(Cmd.CMD_CHATROOM_ACK, pb.ChatroomAck, { seq: this.highest }));
    ws.on("message", (data: Buffer) => this.receive(data));
    ws.on("close", (code, reason) => this.ended(code, reason.toString()));
    ws.on("error", (error) => this.failJoin(error)); // the close follows
    ws.on("unexpected-response", (_request, response) => {
      this.failJoin(new Error(`upgrade refused: HTTP ${response.statusCode}`));
      ws.terminate();
    });
  }

  /** Opens the room's socket (token in the query, as the SDK does) and waits for CHATROOM_JOINED. */
  static async open(
    origin: string,
    roomId: string,
    token: string,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<ChatroomSocket> {
    const url = wsUrl(origin, `/ws/chatroom/${roomId}?token=${encodeURIComponent(token)}`);
    const socket = new ChatroomSocket(
      new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs }),
    );
    const timer = setTimeout(
      () => socket.failJoin(new Error(`no CHATROOM_JOINED within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      await new Promise<void>((resolve, reject) => (socket.joinedOrFailed = { resolve, reject }));
    } catch (error) {
      socket.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return socket;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** CHATROOM_SEND_REQ; resolves with the answer once stored, rejects on a refusal. */
  sendText(text: string, clientMsgId: string = crypto.randomUUID()): Promise<SendAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.sends.delete(clientMsgId);
        reject(new Error(`no CHATROOM_SEND_RSP within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.sends.set(clientMsgId, { resolve, reject, timer });
      this.send(Cmd.CMD_CHATROOM_SEND_REQ, pb.ChatroomSendRequest, {
        clientMsgId,
        messageType: 1,
        content: encoder.encode(text),
      });
    });
  }

  close(): void {
    this.acks.cancel();
    this.ws.close(1000);
  }

  terminate(): void {
    this.acks.cancel();
    this.ws.terminate();
  }

  private send<T>(command: Cmd, type: Encoder<T>, body: T): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeFrame(command, this.sequence++, type, body));
  }

  private receive(data: Buffer): void {
    const frame = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (frame.command === Cmd.CMD_CHATROOM_JOINED && !this.joined) {
      this.joined = pb.ChatroomJoined.decode(frame.body);
      this.highest = Number(this.joined.maxSeq);
      this.joinedOrFailed?.resolve();
      this.joinedOrFailed = null;
    } else if (frame.command === Cmd.CMD_CHATROOM_PUSH) {
      const messages = pb.ChatroomPush.decode(frame.body).messages;
      for (const m of messages) if (Number(m.seq) > this.highest) this.highest = Number(m.seq);
      this.onMessages?.(messages);
      this.acks.delivered(messages.length);
    } else if (frame.command === Cmd.CMD_CHATROOM_SEND_RSP) {
      const answer = pb.ChatroomSendResponse.decode(frame.body);
      const waiting = this.sends.get(answer.clientMsgId);
      if (!waiting) return;
      this.sends.delete(answer.clientMsgId);
      clearTimeout(waiting.timer);
      if ((answer.errorCode ?? Err.ERR_SUCCESS) === Err.ERR_SUCCESS) waiting.resolve(answer);
      else waiting.reject(new Error(`send refused: ${answer.errorCode} ${answer.errorMsg}`));
    }
  }

  private failJoin(error: Error): void {
    this.joinedOrFailed?.reject(error);
    this.joinedOrFailed = null;
  }

  private ended(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.failJoin(new Error(`closed before joining (${code} ${reason})`));
    this.acks.cancel();
    for (const [id, waiting] of this.sends) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`socket closed (${code}) before the answer`));
      this.sends.delete(id);
    }
  }
}
