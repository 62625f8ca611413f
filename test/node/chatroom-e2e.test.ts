// Chatrooms end to end (docs/CHATROOMS.md): the real `wrangler dev`, listeners on real sockets over
// several relays (CHATROOM_LISTENERS_PER_RELAY set low), a token room joined the browser's way, and
// a room closed under its listeners.
import WebSocketClient from "ws";
import type WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { im } from "../../src/protocol/generated/im.js";
import { ProtocolClient } from "../support/protocol-client.ts";
import { feedFrom, openWebSocket, wsSocket } from "../support/ws-socket.ts";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount, postJson } from "./helpers/http-accounts";
import { Cmd, Err, pb } from "./helpers/im-client";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer({ vars: { CHATROOM_LISTENERS_PER_RELAY: "2", CHATROOM_SEND_BURST: "100" } });
});
afterAll(async () => {
  await server?.stop();
});

class Listener extends ProtocolClient {
  constructor(readonly ws: WebSocket) {
    super(wsSocket(ws), { timeoutMs: 10_000, queue: true, maxFrameBytes: 1024 * 1024 });
    feedFrom(ws, this);
  }

  static async join(url: string, options: WebSocket.ClientOptions = {}) {
    const listener = new Listener(await openWebSocket(url, options));
    const joined = pb.ChatroomJoined.decode((await listener.nextCommand(Cmd.CMD_CHATROOM_JOINED)).body);
    return { listener, joined };
  }

  speak(text: string) {
    return this.request(
      Cmd.CMD_CHATROOM_SEND_REQ,
      pb.ChatroomSendRequest,
      { clientMsgId: crypto.randomUUID(), messageType: 1, content: new TextEncoder().encode(text) },
      Cmd.CMD_CHATROOM_SEND_RSP,
      pb.ChatroomSendResponse,
    );
  }

  async pushedThrough(seq: number): Promise<im.protocol.ChatroomMessage[]> {
    const messages: im.protocol.ChatroomMessage[] = [];
    while (!messages.some((m) => m.seq >= seq)) {
      const push = pb.ChatroomPush.decode((await this.nextCommand(Cmd.CMD_CHATROOM_PUSH)).body);
      messages.push(...(push.messages as im.protocol.ChatroomMessage[]));
    }
    return messages;
  }
}

async function createRoom(token: string, access: "open" | "token"): Promise<string> {
  const created = await postJson<{ chatroom: { id: string } }>(
    server.origin,
    "/api/chatrooms",
    { name: "e2e", access },
    token,
  );
  expect(created.body.code, created.body.message).toBe(0);
  return created.body.data.chatroom.id;
}

describe("chatrooms against wrangler dev", () => {
  it("pushes every message in seq order to listeners spread over several relays", async () => {
    const owner = await newAccount(server.origin, "roomowner");
    const roomId = await createRoom(owner.token, "open");
    const listeners: Listener[] = [];
    for (let i = 0; i < 5; i++) {
      const user = i === 0 ? owner : await newAccount(server.origin, `listener${i}`);
      const url = `${server.wsOrigin}/ws/chatroom/${roomId}?token=${encodeURIComponent(user.token)}`;
      listeners.push((await Listener.join(url)).listener);
    }
    const speaker = listeners[0]!;
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => speaker.speak(`m${i + 1}`)));
    expect(acks.every((a) => a.errorCode === Err.ERR_SUCCESS)).toBe(true);
    const want = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const listener of listeners) {
      expect((await listener.pushedThrough(20)).map((m) => m.seq)).toEqual(want);
      listener.close(1000, "done");
    }
    const info = await fetch(`${server.origin}/api/chatrooms/${roomId}`, {
      headers: { Authorization: `Bearer ${owner.token}` },
    });
    expect(((await info.json()) as { code: number }).code).toBe(0);
  });

  it("joins a token room with the browser's subprotocol form and closes it under its listener", async () => {
    const owner = await newAccount(server.origin, "tokenowner");
    const guest = await newAccount(server.origin, "guest");
    const roomId = await createRoom(owner.token, "token");
    const made = await postJson<{ token: string }>(
      server.origin,
      `/api/chatrooms/${roomId}/tokens`,
      {},
      owner.token,
    );
    expect(made.body.code, made.body.message).toBe(0);
    const base = `${server.wsOrigin}/ws/chatroom/${roomId}`;
    const join = `join=${encodeURIComponent(made.body.data.token)}`;
    await expect(openWebSocket(`${base}?${join}`)).rejects.toThrow(/HTTP 401/);
    await expect(openWebSocket(`${base}?token=${encodeURIComponent(guest.token)}`)).rejects.toThrow(
      /HTTP 403/,
    );

    const ws = new WebSocketClient(`${base}?${join}`, ["im.v1", `token.${guest.token}`]);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    expect(ws.protocol).toBe("im.v1");
    const listener = new Listener(ws);
    const joined = pb.ChatroomJoined.decode((await listener.nextCommand(Cmd.CMD_CHATROOM_JOINED)).body);
    expect(joined.roomId).toBe(roomId);

    const closed = await fetch(`${server.origin}/api/chatrooms/${roomId}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${owner.token}` },
    });
    expect(((await closed.json()) as { code: number }).code).toBe(0);
    const notice = pb.ChatroomClosed.decode((await listener.nextCommand(Cmd.CMD_CHATROOM_CLOSED)).body);
    expect(notice.roomId).toBe(roomId);
    expect((await listener.closed).code).toBe(1000);
  });
});
