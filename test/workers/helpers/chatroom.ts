// Chatrooms as a client meets them: the HTTP routes through the worker's fetch, and a room socket
// (/ws/chatroom/:id) opened the same way, speaking the protocol client's frames.
import { exports } from "cloudflare:workers";
import { Cmd, pb, type Frame } from "../../../src/protocol/codec";
import type { im } from "../../../src/protocol/generated/im.js";
import { MAX_FRAME_BYTES } from "../../../src/protocol/limits";
import { ProtocolClient } from "../../support/protocol-client";
import { api, ORIGIN, type TestUser } from "./http";

export interface RoomJson {
  id: string;
  name: string;
  access: string;
  creatorId: string;
  createdAt: number;
}

/** Creates a room; fails the test unless it is created. */
export async function newRoom(
  user: TestUser,
  access: "open" | "token" = "open",
  name = "room",
): Promise<RoomJson> {
  const response = await api<{ chatroom: RoomJson }>("/api/chatrooms", {
    token: user.token,
    body: { name, access },
  });
  const room = response.body.data?.chatroom;
  if (!room) throw new Error(`create failed: ${response.body.code} ${response.body.message}`);
  return room;
}

export async function joinToken(user: TestUser, roomId: string, ttlSeconds?: number): Promise<string> {
  const response = await api<{ token: string }>(`/api/chatrooms/${roomId}/tokens`, {
    token: user.token,
    body: ttlSeconds === undefined ? {} : { ttlSeconds },
  });
  const token = response.body.data?.token;
  if (!token) throw new Error(`token failed: ${response.body.code} ${response.body.message}`);
  return token;
}

/** The upgrade's answer: a socket, or the status and envelope it was refused with. */
export async function upgradeRoom(
  user: TestUser,
  roomId: string,
  join?: string,
): Promise<{ status: number; ws: WebSocket | null; body: { code: number; message: string } | null }> {
  const query = `token=${encodeURIComponent(user.token)}${join === undefined ? "" : `&join=${encodeURIComponent(join)}`}`;
  const response = await exports.default.fetch(`${ORIGIN}/ws/chatroom/${roomId}?${query}`, {
    headers: { Upgrade: "websocket" },
  });
  if (response.webSocket) return { status: response.status, ws: response.webSocket, body: null };
  return { status: response.status, ws: null, body: await response.json() };
}

export class RoomSocket extends ProtocolClient {
  private constructor(readonly ws: WebSocket) {
    super(
      {
        send: (bytes) => ws.send(bytes),
        close: (code, reason) => ws.close(code, reason),
        get isOpen() {
          return ws.readyState === WebSocket.OPEN;
        },
      },
      { timeoutMs: 5_000, queue: true, maxFrameBytes: MAX_FRAME_BYTES },
    );
    ws.addEventListener("message", (event) =>
      this.receive(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer)),
    );
    ws.addEventListener("close", (event) => this.ended(event.code, event.reason));
  }

  /** Joins; fails the test unless the upgrade is accepted. Resolves with the socket and its CHATROOM_JOINED. */
  static async join(user: TestUser, roomId: string, join?: string) {
    const upgrade = await upgradeRoom(user, roomId, join);
    if (!upgrade.ws) throw new Error(`join refused: ${upgrade.status} ${JSON.stringify(upgrade.body)}`);
    upgrade.ws.binaryType = "arraybuffer";
    upgrade.ws.accept();
    const socket = new RoomSocket(upgrade.ws);
    const joined = pb.ChatroomJoined.decode((await socket.nextCommand(Cmd.CMD_CHATROOM_JOINED)).body);
    return { socket, joined };
  }

  /** CHATROOM_SEND_REQ; resolves with CHATROOM_SEND_RSP, whatever its error code. */
  speak(text: string, clientMsgId: string = crypto.randomUUID()) {
    return this.request(
      Cmd.CMD_CHATROOM_SEND_REQ,
      pb.ChatroomSendRequest,
      { clientMsgId, messageType: 1, content: new TextEncoder().encode(text) },
      Cmd.CMD_CHATROOM_SEND_RSP,
      pb.ChatroomSendResponse,
    );
  }

  history(afterSeq: number, limit: number) {
    return this.request(
      Cmd.CMD_CHATROOM_HISTORY_REQ,
      pb.ChatroomHistoryRequest,
      { afterSeq, limit },
      Cmd.CMD_CHATROOM_HISTORY_RSP,
      pb.ChatroomHistoryResponse,
    );
  }

  ack(seq: number): void {
    this.send(Cmd.CMD_CHATROOM_ACK, pb.ChatroomAck, { seq });
  }

  /** The messages of the pushes that arrive until one carries `seq`, in arrival order. */
  async pushedThrough(seq: number) {
    const messages: im.protocol.ChatroomMessage[] = [];
    for (;;) {
      const frame: Frame = await this.nextCommand(Cmd.CMD_CHATROOM_PUSH);
      const push = pb.ChatroomPush.decode(frame.body);
      // Decoded messages have every field set (proto3 defaults).
      messages.push(...(push.messages as im.protocol.ChatroomMessage[]));
      if (messages.some((m) => m.seq >= seq)) return messages;
    }
  }
}

export const text = (bytes: Uint8Array | null | undefined) =>
  new TextDecoder().decode(bytes ?? new Uint8Array());
