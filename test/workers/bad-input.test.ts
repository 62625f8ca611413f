import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/auth/jwt";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { MAX_CONSECUTIVE_BAD_FRAMES, MAX_FRAME_BYTES } from "../../src/protocol/limits";
import { saveSocketState, socketState } from "../../src/objects/user/socket-state";
import { newUser, ORIGIN, sessionOf } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

async function errorNotice(socket: TestSocket) {
  const frame = await socket.nextCommand(Cmd.CMD_UNKNOWN);
  return pb.ErrorNotice.decode(frame.body);
}

function sendMessage(socket: TestSocket, message: Parameters<typeof pb.MessageInfo.encode>[0]) {
  return socket.request(
    Cmd.CMD_SEND_MSG_REQ,
    pb.SendMessageRequest,
    { message },
    Cmd.CMD_SEND_MSG_RSP,
    pb.SendMessageResponse,
  );
}

const textContent = (s: string) => new TextEncoder().encode(s);

describe("bad input on the socket", () => {
  it("answers text and undecodable frames with an ErrorNotice and keeps the socket open", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    socket.sendRaw("hello");
    expect(await errorNotice(socket)).toMatchObject({ errorCode: Err.ERR_INVALID_PARAM });
    socket.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    const notice = await errorNotice(socket);
    expect(notice.errorCode).toBe(Err.ERR_INVALID_PARAM);
    expect(notice.errorMsg).toMatch(/undecodable/);
    const heartbeat = await socket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      {},
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );
    expect(heartbeat.serverTime).toBeGreaterThan(0);
    socket.close();
  });

  it("closes with 1008 after too many invalid frames in a row", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    for (let i = 0; i < MAX_CONSECUTIVE_BAD_FRAMES; i++) socket.sendRaw("junk");
    expect((await socket.closed).code).toBe(1008);
  });

  it("closes with 1009 on a frame over the frame limit", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    socket.sendRaw(new Uint8Array(MAX_FRAME_BYTES + 1));
    expect((await socket.closed).code).toBe(1009);
  });

  it("answers an unknown command with an ErrorNotice naming its sequence", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    const sequence = socket.send(999 as Cmd, pb.HeartbeatRequest, {});
    const notice = await errorNotice(socket);
    expect(notice).toMatchObject({
      errorCode: Err.ERR_INVALID_PARAM,
      refSequence: sequence,
      refCommand: 999,
    });
    socket.close();
  });

  it("refuses requests before AUTH with ERR_AUTH_FAILED and stores nothing", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.open(a.token);
    const clientMsgId = crypto.randomUUID();
    const send = await sendMessage(socket, {
      clientMsgId,
      conversationId: singleConversationId(a.userId, b.userId),
      senderId: a.userId,
      receiverId: b.userId,
      messageType: 1,
      content: textContent("too early"),
    });
    expect(send).toMatchObject({ errorCode: Err.ERR_AUTH_FAILED, clientMsgId });
    const sync = await socket.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      {},
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    expect(sync.errorCode).toBe(Err.ERR_AUTH_FAILED);
    const sequence = socket.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: "x", seq: 1 });
    expect(await errorNotice(socket)).toMatchObject({
      errorCode: Err.ERR_AUTH_FAILED,
      refSequence: sequence,
    });

    expect((await socket.auth(a.userId, a.token)).maxSeq).toBe(0);
    const first = await socket.sendText(a.userId, b.userId, "now");
    expect(first.seq).toBe(1);
    socket.close();
  });

  it("refuses AUTH with another user's valid token and closes the socket", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.open(a.token);
    const auth = await socket.auth(b.userId, b.token);
    expect(auth.errorCode).toBe(Err.ERR_AUTH_FAILED);
    expect((await socket.closed).code).toBe(1008);
  });

  it("refuses AUTH naming another user with the socket's own token", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.open(a.token);
    expect((await socket.auth(b.userId, a.token)).errorCode).toBe(Err.ERR_AUTH_FAILED);
    expect((await socket.closed).code).toBe(1008);
  });

  it("answers an expired token with ERR_TOKEN_EXPIRED", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.open(a.token);
    const expired = await signAccessToken(
      env.JWT_SECRET,
      { userId: a.userId, platform: "iOS", sessionId: sessionOf(a.token) },
      -60,
    );
    expect((await socket.auth(a.userId, expired.token)).errorCode).toBe(Err.ERR_TOKEN_EXPIRED);
    expect((await socket.closed).code).toBe(1008);
  });

  it("closes a socket that never authenticates once its deadline passes", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.open(a.token);
    const stub = env.USER_OBJECT.getByName(a.userId);
    // Move the socket's open time back past the deadline instead of sleeping 10 s.
    await runInDurableObject(stub, (_instance, state) => {
      for (const ws of state.getWebSockets())
        saveSocketState(ws, { ...socketState(ws), openedAt: Date.now() - 60_000 });
    });
    await runDurableObjectAlarm(stub);
    expect((await socket.closed).code).toBe(1008);
  });

  it("refuses the upgrade without a valid token with 401 and the envelope", async () => {
    for (const url of [`${ORIGIN}/ws`, `${ORIGIN}/ws?token=nope`]) {
      const response = await exports.default.fetch(url, { headers: { Upgrade: "websocket" } });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 401 });
    }
  });

  it("accepts the browser form of the token and answers with the im.v1 subprotocol", async () => {
    const a = await newUser("a");
    const response = await exports.default.fetch(`${ORIGIN}/ws`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `im.v1, token.${a.token}` },
    });
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("im.v1");
    response.webSocket?.accept();
    response.webSocket?.close();
  });
});

describe("bad messages", () => {
  it("refuses each bad send with its code and stores none of them", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const socket = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    const base = {
      conversationId,
      senderId: a.userId,
      receiverId: b.userId,
      messageType: 1,
      content: textContent("hi"),
    };
    const cases: [string, Parameters<typeof pb.MessageInfo.encode>[0], Err][] = [
      ["wrong receiver", { ...base, receiverId: c.userId }, Err.ERR_INVALID_PARAM],
      [
        "not a member",
        { ...base, conversationId: singleConversationId(b.userId, c.userId) },
        Err.ERR_INVALID_PARAM,
      ],
      ["sender is someone else", { ...base, senderId: b.userId }, Err.ERR_INVALID_PARAM],
      ["malformed conversation id", { ...base, conversationId: "single_x" }, Err.ERR_INVALID_PARAM],
      [
        "unsorted pair",
        { ...base, conversationId: `single_${[a.userId, b.userId].sort().reverse().join("_")}` },
        Err.ERR_INVALID_PARAM,
      ],
      ["missing client_msg_id", { ...base, clientMsgId: "" }, Err.ERR_INVALID_PARAM],
      ["empty content", { ...base, content: new Uint8Array() }, Err.ERR_INVALID_PARAM],
      ["server-only message type", { ...base, messageType: 8 }, Err.ERR_INVALID_PARAM],
      [
        "content over the limit",
        { ...base, content: new Uint8Array(64 * 1024 + 1) },
        Err.ERR_MESSAGE_TOO_LARGE,
      ],
      [
        "group that does not exist",
        { ...base, conversationId: "group_nope" },
        Err.ERR_CONVERSATION_NOT_EXIST,
      ],
    ];
    for (const [name, message, code] of cases) {
      const clientMsgId = message.clientMsgId ?? crypto.randomUUID();
      const response = await sendMessage(socket, { clientMsgId, ...message });
      expect(response.errorCode, name).toBe(code);
      expect(response.errorMsg, name).toBeTruthy();
      expect(response.seq ?? 0, name).toBe(0);
    }
    const ok = await socket.sendText(a.userId, b.userId, "valid");
    expect(ok.seq).toBe(1);
    const [pushed] = await receiver.pushedMessages(1);
    expect(pushed!.seq).toBe(1);
    socket.close();
    receiver.close();
  });

  it("answers a send to a user who does not exist with ERR_USER_NOT_EXIST", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    const ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const response = await socket.sendText(a.userId, ghost, "anyone?");
    expect(response.errorCode).toBe(Err.ERR_USER_NOT_EXIST);
    expect((await TestSocket.open(a.token).then((s) => s.auth(a.userId, a.token))).maxSeq).toBe(0);
    socket.close();
  });

  it("answers an undecodable request body with its response type and ERR_INVALID_PARAM", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    const sequence = socket.send(
      Cmd.CMD_SYNC_RANGE_REQ,
      { encode: () => ({ finish: () => new Uint8Array([0x0a, 0xff]) }) },
      {},
    );
    const frame = await socket.nextCommand(Cmd.CMD_SYNC_RANGE_RSP);
    expect(frame.sequence).toBe(sequence);
    expect(pb.SyncRangeResponse.decode(frame.body).errorCode).toBe(Err.ERR_INVALID_PARAM);
    socket.close();
  });
});
