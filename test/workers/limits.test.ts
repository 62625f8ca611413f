import { env, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readSettings } from "../../src/config/settings";
import { MAX_SYNC_CONVERSATIONS } from "../../src/objects/user/handlers/batch-sync";
import { Cmd, encodeFrame, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import {
  DEFAULT_MESSAGE_MAX_BYTES,
  MAX_CONSECUTIVE_BAD_FRAMES,
  MAX_FRAME_BYTES,
  MAX_QUEUED_BYTES,
  MAX_QUEUED_FRAMES,
  MAX_SOCKETS_PER_USER,
} from "../../src/protocol/limits";
import { MAX_JSON_BODY_BYTES } from "../../src/http/validate";
import { api, newUser, ORIGIN, refusal, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";
import { TokenBucket } from "../../src/objects/user/token-bucket";

function sendBytes(socket: TestSocket, from: string, to: string, size: number) {
  return socket.request(
    Cmd.CMD_SEND_MSG_REQ,
    pb.SendMessageRequest,
    {
      message: {
        clientMsgId: crypto.randomUUID(),
        conversationId: singleConversationId(from, to),
        senderId: from,
        receiverId: to,
        messageType: 5,
        content: new Uint8Array(size).fill(65),
      },
    },
    Cmd.CMD_SEND_MSG_RSP,
    pb.SendMessageResponse,
  );
}

describe("limits at their edges", () => {
  it("accepts content of exactly MESSAGE_MAX_BYTES and refuses one byte more", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    expect((await sendBytes(socket, a.userId, b.userId, DEFAULT_MESSAGE_MAX_BYTES)).errorCode ?? 0).toBe(
      Err.ERR_SUCCESS,
    );
    expect((await sendBytes(socket, a.userId, b.userId, DEFAULT_MESSAGE_MAX_BYTES + 1)).errorCode).toBe(
      Err.ERR_MESSAGE_TOO_LARGE,
    );
    socket.close();
  });

  it("reads a frame of exactly MAX_FRAME_BYTES and closes on one byte more", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    socket.sendRaw(new Uint8Array(MAX_FRAME_BYTES).fill(0xff));
    const notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice.errorCode).toBe(Err.ERR_INVALID_PARAM);
    socket.sendRaw(new Uint8Array(MAX_FRAME_BYTES + 1));
    expect((await socket.closed).code).toBe(1009);
  });

  it("holds MAX_SOCKETS_PER_USER sockets and refuses the next upgrade with 429", async () => {
    const a = await newUser("a");
    const sockets = [];
    for (let i = 0; i < MAX_SOCKETS_PER_USER; i++) sockets.push(await TestSocket.open(a.token));
    const refused = await exports.default.fetch(`${ORIGIN}/ws?token=${a.token}`, {
      headers: { Upgrade: "websocket" },
    });
    // An upgrade refusal keeps its HTTP status: a WebSocket client reads no body from it.
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: 429 });
    sockets[0]!.close();
    await sockets[0]!.closed;
    await expect
      .poll(async () => {
        const again = await exports.default.fetch(`${ORIGIN}/ws?token=${a.token}`, {
          headers: { Upgrade: "websocket" },
        });
        again.webSocket?.accept();
        again.webSocket?.close();
        return again.status;
      })
      .toBe(101);
    for (const s of sockets) s.close();
  });

  it("answers requests past a socket's burst with ERR_SEND_TOO_FAST", async () => {
    const a = await newUser("a");
    const burst = 5;
    await runInDurableObject(env.USER_OBJECT.getByName(a.userId), (instance) => {
      // A fresh socket takes its budget from these settings: 5 at once, then one every 1000 s.
      instance["services"]().settings = {
        ...readSettings(env),
        socketRequestsPerSecond: 0.001,
        socketRequestBurst: burst,
      };
    });
    const socket = await TestSocket.open(a.token);
    for (let i = 0; i < burst + 1; i++) socket.send(Cmd.CMD_CONNECT_REQ, pb.ConnectRequest, {});
    for (let i = 0; i < burst; i++) await socket.nextCommand(Cmd.CMD_CONNECT_RSP);
    const notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice).toMatchObject({ errorCode: Err.ERR_SEND_TOO_FAST, refSequence: burst + 1 });
    socket.close();
  });

  it("takes nothing from the request budget for acks of pushed messages and for heartbeats, and bounds acks of nothing", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const burst = 5;
    await runInDurableObject(env.USER_OBJECT.getByName(b.userId), (instance) => {
      instance["services"]().settings = {
        ...readSettings(env),
        socketRequestsPerSecond: 0.001,
        socketRequestBurst: burst,
      };
    });
    const sender = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b); // AUTH spent one request token
    const pushes = 60;
    for (let i = 0; i < pushes; i++) await sender.sendText(a.userId, b.userId, `m${i}`);
    const pushed = await receiver.pushedMessages(pushes);
    // The SDK's answer: one MSG_ACK frame per pushed message, then its heartbeats.
    for (const m of pushed)
      receiver.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: 0 });
    for (let i = 0; i < 5; i++) {
      receiver.send(Cmd.CMD_HEARTBEAT_REQ, pb.HeartbeatRequest, {});
      await receiver.nextCommand(Cmd.CMD_HEARTBEAT_RSP);
    }
    // The request budget is untouched: the remaining tokens still buy answers.
    for (let i = 1; i < burst; i++) {
      receiver.send(Cmd.CMD_CONNECT_REQ, pb.ConnectRequest, {});
      await receiver.nextCommand(Cmd.CMD_CONNECT_RSP);
    }
    expect(receiver.hasQueued(Cmd.CMD_UNKNOWN)).toBe(false);
    // Acks of messages never pushed to this socket spend request tokens and, past them, are
    // dropped unanswered; the next request is refused, and heartbeats are still answered.
    for (let i = 0; i < 50; i++)
      receiver.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: `nothing-${i}`, seq: 0 });
    receiver.send(Cmd.CMD_CONNECT_REQ, pb.ConnectRequest, {});
    const notice = pb.ErrorNotice.decode((await receiver.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice.errorCode).toBe(Err.ERR_SEND_TOO_FAST);
    expect(notice.refCommand).toBe(Cmd.CMD_CONNECT_REQ);
    receiver.send(Cmd.CMD_HEARTBEAT_REQ, pb.HeartbeatRequest, {});
    await receiver.nextCommand(Cmd.CMD_HEARTBEAT_RSP);
    expect(receiver.hasQueued(Cmd.CMD_UNKNOWN)).toBe(false); // the dropped acks got no answer
    sender.close();
    receiver.close();
  });

  it("bounds malformed sends by the send rate, as sends take nothing from the request budget", async () => {
    const a = await newUser("a");
    const burst = 3;
    const socket = await TestSocket.connect(a);
    await runInDurableObject(env.USER_OBJECT.getByName(a.userId), (instance) => {
      instance["services"]().sendLimiter = new TokenBucket(0.001, burst);
    });
    const codes = [];
    for (let i = 0; i < burst + 5; i++) {
      const response = await socket.request(
        Cmd.CMD_SEND_MSG_REQ,
        pb.SendMessageRequest,
        { message: { clientMsgId: "", conversationId: "nonsense" } },
        Cmd.CMD_SEND_MSG_RSP,
        pb.SendMessageResponse,
      );
      codes.push(response.errorCode);
    }
    expect(codes.slice(0, burst).every((c) => c === Err.ERR_INVALID_PARAM)).toBe(true);
    expect(codes.slice(burst).every((c) => c === Err.ERR_SEND_TOO_FAST)).toBe(true);
    socket.close();
  });

  it("reads a JSON body of MAX_JSON_BODY_BYTES and refuses one byte more with 413", async () => {
    const body = (size: number) => {
      const skeleton = JSON.stringify({ username: "edge-case", password: "" });
      return JSON.stringify({ username: "edge-case", password: "x".repeat(size - skeleton.length) });
    };
    const atLimit = await api("/api/auth/register", { rawBody: body(MAX_JSON_BODY_BYTES) });
    expect(refusal(atLimit)).toBe(400); // read and validated: the password is too long for bcrypt
    expect(atLimit.body.message).toMatch(/password/);
    const over = await api("/api/auth/register", { rawBody: body(MAX_JSON_BODY_BYTES + 1) });
    expect(refusal(over)).toBe(413);
    expect(over.body.code).toBe(413);
  });

  it("takes MAX_SYNC_CONVERSATIONS conversation states in a BATCH_SYNC and refuses more", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    const states = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        conversationId: singleConversationId(a.userId, `u${String(i).padStart(5, "0")}`),
        lastSeq: 0,
      }));
    const sync = (n: number) =>
      socket.request(
        Cmd.CMD_BATCH_SYNC_REQ,
        pb.BatchSyncRequest,
        { conversationStates: states(n) },
        Cmd.CMD_BATCH_SYNC_RSP,
        pb.BatchSyncResponse,
      );
    expect((await sync(MAX_SYNC_CONVERSATIONS)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect((await sync(MAX_SYNC_CONVERSATIONS + 1)).errorCode).toBe(Err.ERR_INVALID_PARAM);
    socket.close();
  });
});

describe("the per-socket frame queue", () => {
  const buffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;
  const textTo = (from: string, to: string, size = 8) =>
    encodeFrame(Cmd.CMD_SEND_MSG_REQ, 1, pb.SendMessageRequest, {
      message: {
        clientMsgId: crypto.randomUUID(),
        conversationId: singleConversationId(from, to),
        messageType: 1,
        content: new Uint8Array(size).fill(66),
      },
    });

  /**
   * Hands frames to the user's object all at once, behind a send that waits on its conversation:
   * what a client that keeps sending while one frame waits on an RPC puts in the queue. Returns
   * whether the socket was still open right after the last frame was handed over.
   */
  async function behindASend(from: TestUser, to: TestUser, frames: ArrayBuffer[]): Promise<boolean> {
    return runInDurableObject(env.USER_OBJECT.getByName(from.userId), async (instance, state) => {
      const [ws] = state.getWebSockets();
      if (!ws) throw new Error("no socket");
      const handled = [buffer(textTo(from.userId, to.userId)), ...frames].map((f) =>
        instance.webSocketMessage(ws, f),
      );
      const openAfter = ws.readyState === WebSocket.OPEN;
      await Promise.all(handled);
      return openAfter;
    });
  }

  it("refuses a frame over MAX_FRAME_BYTES on arrival, never queueing it behind a waiting one", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const openAfter = await behindASend(a, b, [new ArrayBuffer(MAX_FRAME_BYTES + 1)]);
    expect(openAfter).toBe(false);
    expect((await socket.closed).code).toBe(1009);
  });

  it("closes with 1008 past MAX_QUEUED_FRAMES frames or MAX_QUEUED_BYTES bytes waiting", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const heartbeat = buffer(encodeFrame(Cmd.CMD_HEARTBEAT_REQ, 2, pb.HeartbeatRequest, {}));
    const byCount = await TestSocket.connect(a);
    await behindASend(
      a,
      b,
      Array.from({ length: MAX_QUEUED_FRAMES }, () => heartbeat),
    );
    expect((await byCount.closed).code).toBe(1008);

    const bySize = await TestSocket.connect(a);
    const big = new ArrayBuffer(MAX_FRAME_BYTES);
    const count = Math.ceil(MAX_QUEUED_BYTES / MAX_FRAME_BYTES);
    expect(count).toBeLessThan(MAX_CONSECUTIVE_BAD_FRAMES); // not closed for being undecodable
    await behindASend(
      a,
      b,
      Array.from({ length: count }, () => big),
    );
    expect((await bySize.closed).code).toBe(1008);
  });

  it("holds the SDK's bursts at once: 100 acks, 200 range syncs and 50 resends of 64 KiB", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const acks = Array.from({ length: 100 }, (_, i) =>
      buffer(encodeFrame(Cmd.CMD_MSG_ACK, 0, pb.MessageAck, { serverMsgId: `pushed-${i}`, seq: i + 1 })),
    );
    const ranges = Array.from({ length: 200 }, (_, i) =>
      buffer(
        encodeFrame(Cmd.CMD_SYNC_RANGE_REQ, 1_000 + i, pb.SyncRangeRequest, {
          requestId: `r${i}`,
          conversationId,
          startSeq: 1,
        }),
      ),
    );
    const resends = Array.from({ length: 50 }, () =>
      buffer(textTo(a.userId, b.userId, DEFAULT_MESSAGE_MAX_BYTES)),
    );
    expect(await behindASend(a, b, [...acks, ...ranges, ...resends])).toBe(true);
    for (let i = 0; i < 200; i++) await socket.nextCommand(Cmd.CMD_SYNC_RANGE_RSP);
    for (let i = 0; i < 51; i++) {
      const rsp = pb.SendMessageResponse.decode((await socket.nextCommand(Cmd.CMD_SEND_MSG_RSP)).body);
      expect(rsp.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    }
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });
});
