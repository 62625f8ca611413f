// A lean client of one chatroom socket (/ws/chatroom/:id, docs/CHATROOMS.md) for the bench: the
// room's frames over `ws` without the SDK's timeline, so thousands of listeners fit in one process.
// It waits for CHATROOM_JOINED, hands each push's messages to `onMessages`, acknowledges at the SDK's
// cadence (src/client/chatroom-acks.ts: every 100 messages or 2 s) and matches sends to their
// CHATROOM_SEND_RSP by client_msg_id.
import type WebSocket from "ws";
import { AckCadence } from "../../src/client/chatroom-acks.ts";
import { Cmd, decodeFrame, encodeFrame, Err, pb, type Encoder } from "../../src/protocol/codec.ts";
import { openWebSocket } from "../../test/support/ws-socket.ts";
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
  readonly joined: Joined;

  private sequence = 1;
  private readonly ws: WebSocket;
  private readonly acks: AckCadence;
  private readonly sends = new Map<
    string,
    { resolve: (answer: SendAnswer) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();

  private constructor(ws: WebSocket, joined: Joined) {
    this.ws = ws;
    this.joined = joined;
    this.highest = Number(joined.maxSeq);
    this.acks = new AckCadence(() => this.send(Cmd.CMD_CHATROOM_ACK, pb.ChatroomAck, { seq: this.highest }));
  }

  /** Opens the room's socket (token in the query, as the SDK does) and waits for CHATROOM_JOINED. */
  static async open(
    origin: string,
    roomId: string,
    token: string,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<ChatroomSocket> {
    const url = wsUrl(origin, `/ws/chatroom/${roomId}?token=${encodeURIComponent(token)}`);
    const ws = await openWebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    // The first frame is CHATROOM_JOINED; it is taken here, before anything else can look at frames.
    const joined = await new Promise<Joined>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no CHATROOM_JOINED within ${timeoutMs} ms`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        ws.terminate();
        reject(error);
      };
      ws.once("message", (data: Buffer) => {
        clearTimeout(timer);
        const frame = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        if (frame.command !== Cmd.CMD_CHATROOM_JOINED)
          return fail(new Error(`first frame ${Cmd[frame.command] ?? frame.command}, not CHATROOM_JOINED`));
        resolve(pb.ChatroomJoined.decode(frame.body));
      });
      ws.once("close", (code, reason) =>
        fail(new Error(`closed before joining (${code} ${reason.toString()})`)),
      );
    });
    const socket = new ChatroomSocket(ws, joined);
    ws.removeAllListeners("close");
    ws.on("message", (data: Buffer) => socket.receive(data));
    ws.on("close", (code, reason) => socket.ended(code, reason.toString()));
    ws.on("error", () => undefined); // the close follows
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
    if (frame.command === Cmd.CMD_CHATROOM_PUSH) {
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

  private ended(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.acks.cancel();
    for (const [id, waiting] of this.sends) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`socket closed (${code}) before the answer`));
      this.sends.delete(id);
    }
  }
}
