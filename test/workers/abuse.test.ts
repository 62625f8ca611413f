// Review findings (issue 12): ids nobody owns make no objects, presence and typing respect
// friendship and blocks (docs/RELIABILITY.md, "Review findings (issue 12): abuse and bounds").
import { env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PresenceVisibleTo, readSettings } from "../../src/config/settings";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser, type TestUser } from "./helpers/http";
import { nextTyping, onlineStatus, readReceipt, revoke, syncRange } from "./helpers/protocol";
import { TestSocket } from "./helpers/socket";

const randomId = () => crypto.randomUUID().replaceAll("-", "").slice(0, 26).toUpperCase();

async function befriend(a: TestUser, b: TestUser) {
  await api("/api/friend/add", { body: { userID: b.userId, message: "" }, token: a.token });
  await api("/api/friend/accept", { body: { userID: a.userId }, token: b.token });
}

/** A heartbeat answered: every frame the server sent before it has arrived. */
const roundTrip = (socket: TestSocket) =>
  socket.request(Cmd.CMD_HEARTBEAT_REQ, pb.HeartbeatRequest, {}, Cmd.CMD_HEARTBEAT_RSP, pb.HeartbeatResponse);

/** The ids of the objects of `namespace` that exist (have storage), as strings. */
async function existing(namespace: DurableObjectNamespace): Promise<Set<string>> {
  return new Set((await listDurableObjectIds(namespace)).map((id) => id.toString()));
}

describe("ids the user has no part in", () => {
  it("make no object and write nothing, however many a socket names", async () => {
    const [a, stranger] = [await newUser("a"), await newUser("s")];
    const socket = await TestSocket.connect(a);
    const ghosts = Array.from({ length: 40 }, randomId);
    const conversations = [
      ...ghosts.map((g) => singleConversationId(a.userId, g)),
      ...ghosts.map((g) => `group_${g}`),
      `system_${stranger.userId}`,
      singleConversationId(a.userId, stranger.userId), // a real user, but nothing was ever sent
    ];

    // The flood first; the answers are checked after the objects.
    const status = await onlineStatus(socket, [...ghosts, stranger.userId]);
    const answers: { errorCode?: Err | null }[] = [];
    const withStranger = singleConversationId(a.userId, stranger.userId);
    for (const conversationId of conversations) {
      // Typing to a user who exists reaches their object (a hint to a real peer, handlers/typing.ts),
      // so the one-to-one with the stranger is left out: whether the socket's typing budget is spent
      // by then made this test depend on its own speed.
      if (conversationId !== withStranger)
        socket.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId, status: 1 });
      answers.push(await syncRange(socket, conversationId, 1));
      const read = await readReceipt(socket, conversationId);
      // Reading a conversation of one's own that holds nothing reads nothing, as before.
      if (!conversationId.startsWith("single_")) answers.push(read);
      answers.push(await revoke(socket, conversationId, randomId()));
    }
    for (const g of ghosts.slice(0, 5)) answers.push(await socket.sendText(a.userId, g, "anyone?"));
    for (const g of ghosts.slice(0, 5)) {
      const unblock = await api("/api/friend/unblock", { body: { userID: g }, token: a.token });
      expect(unblock.body.code).toBe(0); // idempotent, as before
    }
    await roundTrip(socket);

    const users = await existing(env.USER_OBJECT);
    for (const id of [...ghosts, stranger.userId])
      expect(users.has(env.USER_OBJECT.idFromName(id).toString()), `user object ${id}`).toBe(false);
    const objects = await existing(env.CONVERSATION_OBJECT);
    for (const id of conversations)
      expect(objects.has(env.CONVERSATION_OBJECT.idFromName(id).toString()), id).toBe(false);
    expect(users.has(env.USER_OBJECT.idFromName(a.userId).toString())).toBe(true); // the list works

    expect(status.statuses).toHaveLength(ghosts.length + 1);
    for (const s of status.statuses) expect(s.online ?? false).toBe(false);
    for (const answer of answers) expect(answer.errorCode ?? 0).not.toBe(Err.ERR_SUCCESS);
    expect(answers.slice(-5).map((r) => r.errorCode)).toEqual(Array(5).fill(Err.ERR_USER_NOT_EXIST));
    socket.close();
  });

  it("still answers members: a group just joined, a first message to a real user", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const socket = await TestSocket.connect(a);
    const sent = await socket.sendText(a.userId, b.userId, "hello");
    expect(sent.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const range = await syncRange(socket, singleConversationId(a.userId, b.userId), 1);
    expect(range.messages).toHaveLength(1);
    const created = await api<{ groupID: string }>("/api/group/create", {
      body: { groupName: "g", faceURL: "", introduction: "", memberUserIDs: [a.userId] },
      token: c.token,
    });
    const groupRange = await syncRange(socket, `group_${created.body.data!.groupID}`, 1);
    expect(groupRange.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    socket.close();
  });

  it("read-only calls to a conversation object bind no identity and write no state", async () => {
    const a = await newUser("a");
    const conversationId = singleConversationId(a.userId, randomId());
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    const query = {
      userId: a.userId,
      fromSeq: 1,
      toSeq: 0,
      limit: 10,
      newest: false,
      maxBytes: 1 << 20,
    };
    expect((await stub.read(query)).ok).toBe(true);
    await stub.markRead({ userId: a.userId, serverMsgIds: [] });
    await stub.markDelivered(a.userId, 5);
    await stub.revoke({ userId: a.userId, serverMsgId: randomId(), originSession: "" });
    await stub.typing(a.userId, 1);
    const rows = await runInDurableObject(stub, (_instance, state) => {
      const count = (query: string) => state.storage.sql.exec<{ n: number }>(query).one().n;
      return {
        identity: count("SELECT COUNT(*) AS n FROM meta WHERE key IN ('conversationId', 'conversationType')"),
        messages: count("SELECT COUNT(*) AS n FROM messages"),
        members: count("SELECT COUNT(*) AS n FROM members"),
      };
    });
    expect(rows).toEqual({ identity: 0, messages: 0, members: 0 });
  });
});

describe("presence and typing", () => {
  it("shows presence to friends only: anyone else sees offline with no platforms or last_seen", async () => {
    const [a, friend, stranger] = [await newUser("a"), await newUser("f"), await newUser("s")];
    await befriend(a, friend);
    const aPhone = await TestSocket.connect(a, "iOS");
    const friendSocket = await TestSocket.connect(friend);
    const strangerSocket = await TestSocket.connect(stranger);
    const seen = await onlineStatus(friendSocket, [a.userId]);
    expect(seen.statuses[0]).toMatchObject({ userId: a.userId, online: true, platforms: ["iOS"] });
    const unseen = await onlineStatus(strangerSocket, [a.userId]);
    expect(unseen.statuses).toHaveLength(1);
    expect(unseen.statuses[0]!.userId).toBe(a.userId);
    expect(unseen.statuses[0]!.online ?? false).toBe(false);
    expect(unseen.statuses[0]!.platforms ?? []).toEqual([]);
    expect(Number(unseen.statuses[0]!.lastSeen ?? 0)).toBe(0);

    // PRESENCE_VISIBLE_TO = everyone shows it to the stranger too.
    await runInDurableObject(env.USER_OBJECT.getByName(stranger.userId), (instance) => {
      instance["services"]().settings = {
        ...readSettings(env),
        presenceVisibleTo: PresenceVisibleTo.everyone,
      };
    });
    const everyone = await onlineStatus(strangerSocket, [a.userId]);
    expect(everyone.statuses[0]).toMatchObject({ userId: a.userId, online: true, platforms: ["iOS"] });
    for (const s of [aPhone, friendSocket, strangerSocket]) s.close();
  });

  it("drops typing to a user who blocked the typist, and relays it again once unblocked", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aSocket = await TestSocket.connect(a);
    const bSocket = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    expect((await api("/api/friend/block", { body: { userID: a.userId }, token: b.token })).body.code).toBe(
      0,
    );
    aSocket.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId, status: 1 });
    await roundTrip(aSocket);
    await roundTrip(bSocket);
    expect(bSocket.hasQueued(Cmd.CMD_TYPING_STATUS_PUSH)).toBe(false);
    expect(aSocket.hasQueued(Cmd.CMD_UNKNOWN)).toBe(false); // dropped, as a hint, without a notice

    expect((await api("/api/friend/unblock", { body: { userID: a.userId }, token: b.token })).body.code).toBe(
      0,
    );
    aSocket.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId, status: 1 });
    expect(await nextTyping(bSocket)).toMatchObject({ conversationId, userId: a.userId, status: 1 });
    aSocket.close();
    bSocket.close();
  });
});
