import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { newUser } from "./helpers/http";
import { afterConversationSends, restoreConversationSends } from "./helpers/faults";
import { TestSocket, text } from "./helpers/socket";

describe("one-to-one messaging", () => {
  it("register → login → connect → AUTH_RSP success with the request's sequence", async () => {
    const alice = await newUser("alice");
    const socket = await TestSocket.open(alice.token);
    const connect = await socket.request(
      Cmd.CMD_CONNECT_REQ,
      pb.ConnectRequest,
      { clientId: "c1", platform: "iOS", sdkVersion: "1.0" },
      Cmd.CMD_CONNECT_RSP,
      pb.ConnectResponse,
    );
    expect(connect.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(connect.sessionId).toMatch(/[0-9a-f-]{36}/);
    const sequence = socket.send(Cmd.CMD_AUTH_REQ, pb.AuthRequest, {
      userId: alice.userId,
      token: alice.token,
      platform: "iOS",
    });
    expect(sequence).toBe(2);
    const frame = await socket.nextCommand(Cmd.CMD_AUTH_RSP);
    expect(frame.sequence).toBe(2);
    const auth = pb.AuthResponse.decode(frame.body);
    expect(auth.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(auth.maxSeq).toBe(0);
    const heartbeat = await socket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      { clientTime: Date.now() },
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );
    expect(heartbeat.serverTime).toBeGreaterThan(0);
    socket.close();
  });

  it("pushes A's messages to B with seq 1, 2, 3 … in order, and to A's other device", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a, "iOS");
    const aDesktop = await TestSocket.connect(a, "macOS");
    const bPhone = await TestSocket.connect(b, "iOS");

    const acks = [];
    for (let i = 1; i <= 5; i++) acks.push(await aPhone.sendText(a.userId, b.userId, `hello ${i}`));
    expect(acks.map((ack) => ack.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(acks.every((ack) => (ack.errorCode ?? 0) === Err.ERR_SUCCESS && ack.serverMsgId)).toBe(true);
    expect(new Set(acks.map((ack) => ack.serverMsgId)).size).toBe(5);

    const received = await bPhone.pushedMessages(5);
    expect(received.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(received.map((m) => text(m.content))).toEqual([
      "hello 1",
      "hello 2",
      "hello 3",
      "hello 4",
      "hello 5",
    ]);
    expect(received[0]).toMatchObject({
      conversationId: singleConversationId(a.userId, b.userId),
      senderId: a.userId,
      receiverId: b.userId,
      conversationType: 1,
      messageType: 1,
    });
    expect(received.map((m) => m.serverMsgId)).toEqual(acks.map((ack) => ack.serverMsgId));

    const mirrored = await aDesktop.pushedMessages(5);
    expect(mirrored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);

    // The sending device had its acks; its next push is B's reply, not its own messages.
    await bPhone.sendText(b.userId, a.userId, "reply");
    const [reply] = await aPhone.pushedMessages(1);
    expect(reply).toMatchObject({ seq: 6, senderId: b.userId });
    for (const s of [aPhone, aDesktop, bPhone]) s.close();
  });

  it("answers a resend of the same client_msg_id with the same seq and pushes it once", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b);
    const clientMsgId = crypto.randomUUID();
    const first = await sender.sendText(a.userId, b.userId, "once", clientMsgId);
    const resend = await sender.sendText(a.userId, b.userId, "once", clientMsgId);
    expect(resend.seq).toBe(first.seq);
    expect(resend.serverMsgId).toBe(first.serverMsgId);
    expect(resend.serverTime).toBe(first.serverTime);
    const next = await sender.sendText(a.userId, b.userId, "after");
    expect(next.seq).toBe(first.seq + 1);

    // Pushes arrive in seq order, so had the resend been pushed it would come before "after".
    const pushed = await receiver.pushedMessages(2);
    expect(pushed.map((m) => [m.seq, text(m.content)])).toEqual([
      [1, "once"],
      [2, "after"],
    ]);
    sender.close();
    receiver.close();
  });

  it("returns the inbox sequence as AuthResponse.max_seq, counting the user's own messages", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b);
    for (let i = 0; i < 3; i++) await sender.sendText(a.userId, b.userId, `m${i}`);
    await receiver.pushedMessages(3);
    await receiver.sendText(b.userId, a.userId, "back");
    const other = await TestSocket.open(b.token);
    const bAuth = await other.auth(b.userId, b.token);
    expect(bAuth.maxSeq).toBe(4);
    const aAgain = await TestSocket.open(a.token);
    // A's inbox has its 3 sends and B's reply once B's send has fanned out to A.
    await sender.pushedMessages(1);
    expect((await aAgain.auth(a.userId, a.token)).maxSeq).toBe(4);
    for (const s of [sender, receiver, other, aAgain]) s.close();
  });

  it("stores a burst of sends in the order sent: repeats keep their seq, a bad one is refused in its turn", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const sender = await TestSocket.connect(a);
    const [bPhone, cPhone] = [await TestSocket.connect(b), await TestSocket.connect(c)];
    const message = (to: string, body: string, clientMsgId: string) => ({
      message: {
        clientMsgId,
        conversationId: singleConversationId(a.userId, to),
        senderId: a.userId,
        receiverId: to,
        messageType: 1,
        content: new TextEncoder().encode(body),
        sendTime: Date.now(),
      },
    });
    // Written without waiting, as the SDK pipelines: the object gets them while earlier ones are
    // still on their way to the conversation, and gathers them.
    const burst = [
      message(b.userId, "b1", "id-1"),
      message(b.userId, "b2", "id-2"),
      message(b.userId, "b1 again", "id-1"), // a resend of id-1 within the same burst
      message(b.userId, "", "id-empty"), // refused: empty content
      message(b.userId, "b3", "id-3"),
      message(c.userId, "c1", "id-4"), // another conversation in between
      message(b.userId, "b4", "id-5"),
    ];
    const sequences = burst.map((body) => sender.send(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, body));
    const answers = [];
    for (let i = 0; i < burst.length; i++) {
      const frame = await sender.nextCommand(Cmd.CMD_SEND_MSG_RSP);
      answers.push({ sequence: frame.sequence, ...pb.SendMessageResponse.decode(frame.body) });
    }
    // Answered in the order asked.
    expect(answers.map((r) => r.sequence)).toEqual(sequences);
    expect(answers.map((r) => [r.clientMsgId, r.errorCode ?? 0, r.seq ?? 0])).toEqual([
      ["id-1", Err.ERR_SUCCESS, 1],
      ["id-2", Err.ERR_SUCCESS, 2],
      ["id-1", Err.ERR_SUCCESS, 1],
      ["id-empty", Err.ERR_INVALID_PARAM, 0],
      ["id-3", Err.ERR_SUCCESS, 3],
      ["id-4", Err.ERR_SUCCESS, 1],
      ["id-5", Err.ERR_SUCCESS, 4],
    ]);
    expect(answers[2]?.serverMsgId).toBe(answers[0]?.serverMsgId);

    // Each receiver gets each stored message once, in order; the repeat and the refusal never.
    const toB = await bPhone.pushedMessages(4);
    expect(toB.map((m) => [m.seq, text(m.content)])).toEqual([
      [1, "b1"],
      [2, "b2"],
      [3, "b3"],
      [4, "b4"],
    ]);
    const toC = await cPhone.pushedMessages(1);
    expect(toC.map((m) => [m.seq, text(m.content)])).toEqual([[1, "c1"]]);
    expect(bPhone.hasQueued(Cmd.CMD_PUSH_MSG) || bPhone.hasQueued(Cmd.CMD_BATCH_MSG)).toBe(false);
    for (const s of [sender, bPhone, cPhone]) s.close();
  });

  it("reads back a sender's own message its inbox missed (its object died before writing it)", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a);
    const bPhone = await TestSocket.connect(b);
    await aPhone.sendText(a.userId, b.userId, "one"); // seq 1, handed back to A's own object
    await bPhone.pushedMessages(1);
    // As if A's object had died between the conversation's answer and its inbox write.
    const aObject = env.USER_OBJECT.getByName(a.userId);
    await runInDurableObject(aObject, (_instance, state) => {
      state.storage.sql.exec("UPDATE inbox SET max_seq = 0");
    });
    await evictDurableObject(aObject);

    const aDesktop = await TestSocket.connect(a, "macOS");
    await bPhone.sendText(b.userId, a.userId, "two"); // seq 2 would skip seq 1 in A's inbox
    const pushed = await aDesktop.pushedMessages(2);
    expect(pushed.map((m) => [m.seq, text(m.content)])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    for (const s of [aPhone, bPhone, aDesktop]) s.close();
  });

  it("gives the sender's other devices a message whose answer was lost after it was stored, once resent, in a quiet conversation", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a);
    const aDesktop = await TestSocket.connect(a, "macOS");
    const conversationId = singleConversationId(a.userId, b.userId);
    const aObject = env.USER_OBJECT.getByName(a.userId);
    // The conversation stores the message and hands it back, but its answer never reaches A's
    // object (an RPC error after the commit, as on a deploy or a reset).
    await afterConversationSends(a.userId, () => Promise.reject(new Error("the answer was lost")));
    const clientMsgId = crypto.randomUUID();
    const lost = await aPhone.sendText(a.userId, b.userId, "are you there?", clientMsgId);
    expect(lost.errorCode).toBe(Err.ERR_UNKNOWN);
    await restoreConversationSends(a.userId);

    // The phone resends with the same client_msg_id: the same seq, and now every device has it.
    const resent = await aPhone.sendText(a.userId, b.userId, "are you there?", clientMsgId);
    expect(resent).toMatchObject({ errorCode: Err.ERR_SUCCESS, seq: 1 });
    const onDesktop = await aDesktop.pushedMessages(1);
    expect(onDesktop.map((m) => [m.seq, text(m.content)])).toEqual([[1, "are you there?"]]);
    await runInDurableObject(aObject, (_instance, state) => {
      const row = state.storage.sql
        .exec<{ max_seq: number }>("SELECT max_seq FROM inbox WHERE conversation_id = ?", conversationId)
        .toArray()[0];
      expect(row?.max_seq).toBe(1);
    });
    for (const s of [aPhone, aDesktop]) s.close();
  });

  it("answers a bad frame after the sends that came before it", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const body = (text: string) => ({
      message: {
        clientMsgId: crypto.randomUUID(),
        conversationId: singleConversationId(a.userId, b.userId),
        senderId: a.userId,
        receiverId: b.userId,
        messageType: 1,
        content: new TextEncoder().encode(text),
        sendTime: Date.now(),
      },
    });
    sender.send(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, body("first"));
    sender.send(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, body("second"));
    sender.sendRaw("not a protobuf frame");
    sender.send(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, body("third"));
    const frames = await sender.drainUntil((f) => f.command === Cmd.CMD_SEND_MSG_RSP && f.sequence === 4);
    const order = [...frames.map((f) => f.command), Cmd.CMD_SEND_MSG_RSP];
    expect(order).toEqual([
      Cmd.CMD_SEND_MSG_RSP,
      Cmd.CMD_SEND_MSG_RSP,
      Cmd.CMD_UNKNOWN,
      Cmd.CMD_SEND_MSG_RSP,
    ]);
    sender.close();
  });
});
