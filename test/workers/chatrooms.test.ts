// Chatrooms (docs/CHATROOMS.md): the HTTP routes, and listeners on real room sockets through the
// worker's fetch, against the real ChatroomObject and ChatroomRelay objects.
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { readSettings, type ChatroomSettings } from "../../src/config/settings";
import { RELAY_SLACK } from "../../src/objects/chatroom/chatroom-relay";
import { relayObjectName, roomObjectName } from "../../src/objects/chatroom/names";
import { HISTORY_REQUEST_BURST } from "../../src/objects/chatroom/relay-dispatch";
import { DEDUP_WINDOW_MS } from "../../src/objects/chatroom/room-messages";
import { Cmd, Err, encodeFrame, pb } from "../../src/protocol/codec";
import { MAX_FRAME_BYTES } from "../../src/protocol/limits";
import { adminOk } from "./helpers/admin";
import { joinToken, newRoom, RoomSocket, text, upgradeRoom } from "./helpers/chatroom";
import { api, newUser, refusal } from "./helpers/http";
import { TestSocket } from "./helpers/socket";
import { CHATROOM_CREATIONS_PER_DAY } from "../../src/worker/routes/chatrooms";
import { AccountStatus } from "../../schema/tables";

/** Changes a room object's chatroom settings (before its first send, for the send limiter). */
async function roomSettings(roomId: string, changes: Partial<ChatroomSettings>): Promise<void> {
  await runInDurableObject(env.CHATROOM_OBJECT.getByName(roomObjectName(roomId)), (instance) => {
    instance["cachedSettings"] = { ...readSettings(env).chatroom, ...changes };
  });
}

/** Changes a relay's chatroom settings (before its first listener joins). */
async function relaySettings(
  roomId: string,
  relay: number,
  changes: Partial<ChatroomSettings>,
): Promise<void> {
  await runInDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(roomId, relay)), (instance) => {
    instance["services"]().settings = { ...readSettings(env).chatroom, ...changes };
  });
}

/** Makes a relay count every pushed message toward 4008 at once (no time to ack). */
async function noAckGrace(roomId: string, relay: number): Promise<void> {
  await runInDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(roomId, relay)), (instance) => {
    instance["ackGraceMs"] = 0;
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What the room counts (its relays' last reports and its admissions since). */
async function roomListeners(roomId: string): Promise<number> {
  return env.CHATROOM_OBJECT.getByName(roomObjectName(roomId)).listeners();
}

async function socketsOnRelay(roomId: string, relay: number): Promise<number> {
  return runInDurableObject(
    env.CHATROOM_RELAY.getByName(relayObjectName(roomId, relay)),
    (_i, state) => state.getWebSockets().length,
  );
}

describe("chatroom HTTP routes", () => {
  it("creates a room, reads it with its listener count, and refuses bad input", async () => {
    const alice = await newUser("alice");
    const created = await api<{ chatroom: { id: string; name: string; access: string; creatorId: string } }>(
      "/api/chatrooms",
      { token: alice.token, body: { name: "  lobby ", access: "open" } },
    );
    expect(created.body.code).toBe(0);
    const room = created.body.data!.chatroom;
    expect(room).toMatchObject({ name: "lobby", access: "open", creatorId: alice.userId });

    const info = await api<{ chatroom: { id: string }; listeners: number }>(`/api/chatrooms/${room.id}`, {
      token: alice.token,
    });
    expect(info.body.data).toMatchObject({ chatroom: { id: room.id }, listeners: 0 });
    const { socket } = await RoomSocket.join(alice, room.id);
    const after = await api<{ listeners: number }>(`/api/chatrooms/${room.id}`, { token: alice.token });
    expect(after.body.data?.listeners).toBe(1);
    socket.close();

    expect(refusal(await api("/api/chatrooms", { token: alice.token, body: { name: "" } }))).toBe(400);
    expect(refusal(await api("/api/chatrooms", { token: alice.token, body: { name: "x".repeat(65) } }))).toBe(
      400,
    );
    expect(
      refusal(await api("/api/chatrooms", { token: alice.token, body: { name: "a", access: "secret" } })),
    ).toBe(400);
    expect((await api("/api/chatrooms", { body: { name: "a" } })).status).toBe(401);
    expect(refusal(await api("/api/chatrooms/no-such-room", { token: alice.token }))).toBe(404);
    expect(refusal(await api("/api/chatrooms/bad_id", { token: alice.token }))).toBe(400);
  });

  it("bounds the open rooms per creator; a closed room no longer counts", async () => {
    const bob = await newUser("bob");
    const perUser = readSettings(env).chatroom.perUser;
    const rooms = [];
    for (let i = 0; i < perUser; i++) rooms.push(await newRoom(bob, "open", `r${i}`));
    expect(refusal(await api("/api/chatrooms", { token: bob.token, body: { name: "one more" } }))).toBe(409);
    expect(
      (await api(`/api/chatrooms/${rooms[0]!.id}`, { method: "DELETE", token: bob.token })).body.code,
    ).toBe(0);
    await newRoom(bob, "open", "now fits");
  });

  it("bounds the rooms one user creates a day, closed ones included", async () => {
    const carol = await newUser("carol");
    // As if the day's creations but one were spent already.
    await env.GUARD_OBJECT.getByName(`chatroom-create-user:${carol.userId}`).take(
      CHATROOM_CREATIONS_PER_DAY,
      86_400_000,
      CHATROOM_CREATIONS_PER_DAY - 1,
    );
    await newRoom(carol);
    const refused = await api("/api/chatrooms", { token: carol.token, body: { name: "again" } });
    expect(refusal(refused)).toBe(429);
    expect(refused.body.message).toMatch(/a day/);
  });

  it("makes join tokens for the creator of a token room only", async () => {
    const [owner, other] = [await newUser("owner"), await newUser("other")];
    const room = await newRoom(owner, "token");
    const made = await api<{ token: string; expiresAt: number }>(`/api/chatrooms/${room.id}/tokens`, {
      token: owner.token,
      body: { ttlSeconds: 60 },
    });
    expect(made.body.data?.token.length).toBeGreaterThan(20);
    expect(made.body.data!.expiresAt).toBeGreaterThan(Date.now());
    expect(refusal(await api(`/api/chatrooms/${room.id}/tokens`, { token: other.token, body: {} }))).toBe(
      403,
    );
    expect(
      refusal(
        await api(`/api/chatrooms/${room.id}/tokens`, {
          token: owner.token,
          body: { ttlSeconds: 8 * 86_400 },
        }),
      ),
    ).toBe(400);
    const open = await newRoom(owner, "open");
    expect(refusal(await api(`/api/chatrooms/${open.id}/tokens`, { token: owner.token, body: {} }))).toBe(
      400,
    );
  });

  it("lets the creator or an admin close a room, nobody else", async () => {
    const [owner, other] = [await newUser("owner"), await newUser("other")];
    const room = await newRoom(owner);
    expect(refusal(await api(`/api/chatrooms/${room.id}`, { method: "DELETE", token: other.token }))).toBe(
      403,
    );
    expect((await api(`/api/chatrooms/${room.id}`, { method: "DELETE", token: owner.token })).body.code).toBe(
      0,
    );
    expect(refusal(await api(`/api/chatrooms/${room.id}`, { token: owner.token }))).toBe(404);
    // Closing again is harmless (it finishes a close whose call to the room failed).
    expect((await api(`/api/chatrooms/${room.id}`, { method: "DELETE", token: owner.token })).body.code).toBe(
      0,
    );
    expect(refusal(await api("/api/chatrooms/nosuchroom", { method: "DELETE", token: owner.token }))).toBe(
      404,
    );

    const second = await newRoom(owner);
    await adminOk(`/chatrooms/${second.id}`, { method: "DELETE" });
    expect((await upgradeRoom(owner, second.id)).status).toBe(404);
  });
});

describe("joining a room", () => {
  it("admits anyone signed in to an open room, and refuses an unknown room or a bad token", async () => {
    const [owner, guest] = [await newUser("owner"), await newUser("guest")];
    const room = await newRoom(owner, "open", "hall");
    const { socket, joined } = await RoomSocket.join(guest, room.id);
    expect(joined).toMatchObject({ roomId: room.id, name: "hall", maxSeq: 0, recent: [] });
    socket.close();
    expect((await upgradeRoom(guest, "nosuchroom")).status).toBe(404);
    const bad = await upgradeRoom({ ...guest, token: "not-a-token" }, room.id);
    expect(bad.status).toBe(401);
    expect(bad.body?.code).toBe(401);
  });

  it("admits to a token room only with a live join token for that room", async () => {
    const [owner, guest] = [await newUser("owner"), await newUser("guest")];
    const room = await newRoom(owner, "token");
    const elsewhere = await newRoom(owner, "token");
    const none = await upgradeRoom(guest, room.id);
    expect(none.status).toBe(403);
    expect(none.body?.message).toMatch(/join token/);
    expect((await upgradeRoom(guest, room.id, "garbage")).status).toBe(403);
    expect((await upgradeRoom(guest, room.id, await joinToken(owner, elsewhere.id))).status).toBe(403);
    const expired = await new SignJWT({ room: room.id })
      .setProtectedHeader({ alg: "HS256", typ: "chatroom-join" })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    expect((await upgradeRoom(guest, room.id, expired)).status).toBe(403);
    // An access token is no join token, though signed with the same key.
    expect((await upgradeRoom(guest, room.id, guest.token)).status).toBe(403);

    const { socket, joined } = await RoomSocket.join(guest, room.id, await joinToken(owner, room.id));
    expect(joined.roomId).toBe(room.id);
    socket.close();
  });

  it("refuses a listener past the room's cap with 503", async () => {
    const [owner, guest] = [await newUser("owner"), await newUser("guest")];
    const room = await newRoom(owner);
    await roomSettings(room.id, { maxListeners: 1 });
    const { socket } = await RoomSocket.join(owner, room.id);
    expect((await upgradeRoom(guest, room.id)).status).toBe(503);
    socket.close();
  });

  it("never lets a burst of joins overfill a relay: joins waiting for the room count as held", async () => {
    const room = await newRoom(await newUser("owner"));
    // This relay holds at most 3 sockets; the room (at its default) sends every join to it.
    await relaySettings(room.id, 0, { listenersPerRelay: 3 - RELAY_SLACK });
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => newUser(`burst${i}`)));
    const upgrades = await Promise.all(users.map((u) => upgradeRoom(u, room.id)));
    const accepted = upgrades.filter((u) => u.ws !== null);
    expect(accepted).toHaveLength(3);
    expect(upgrades.filter((u) => u.status === 503)).toHaveLength(3);
    expect(await socketsOnRelay(room.id, 0)).toBe(3);
    // The relay's report settles the room's count on what it holds, not on what it admitted.
    await expect.poll(() => roomListeners(room.id)).toBe(3);
    for (const u of accepted) {
      u.ws?.accept();
      u.ws?.close();
    }
  });

  it("takes back the room's count of a listener its relay did not accept", async () => {
    const [owner, guest] = [await newUser("owner"), await newUser("guest")];
    const room = await newRoom(owner);
    const { socket } = await RoomSocket.join(owner, room.id);
    await expect.poll(() => roomListeners(room.id)).toBe(1);
    // The relay's call for the join's snapshot fails after the room admitted the listener.
    await runInDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0)), (instance) => {
      const services = instance["services"]();
      const real = services.room;
      services.room = () =>
        ({
          snapshot: () => Promise.reject(new Error("room unreachable")),
          report: (relay: number, listeners: number) => real().report(relay, listeners),
        }) as unknown as ReturnType<typeof real>;
    });
    expect((await upgradeRoom(guest, room.id)).ws).toBeNull();
    // Nobody joined or left since: only the refusing relay's own report takes the count back.
    await expect.poll(() => roomListeners(room.id)).toBe(1);
    socket.close();
  });

  it("asks its relays for their real counts before it answers full (sockets a deploy dropped)", async () => {
    const [owner, guest] = [await newUser("owner"), await newUser("guest")];
    const room = await newRoom(owner);
    await roomSettings(room.id, { maxListeners: 2 });
    const { socket } = await RoomSocket.join(owner, room.id);
    // As after a deploy: the room still counts listeners whose sockets vanished without a close.
    await runInDurableObject(env.CHATROOM_OBJECT.getByName(roomObjectName(room.id)), (instance) => {
      instance["loads"].reported(0, 2);
    });
    const { socket: second } = await RoomSocket.join(guest, room.id);
    expect(await roomListeners(room.id)).toBe(2);
    // Now really full: refused, and the count stays what the relay holds.
    expect((await upgradeRoom(await newUser("third"), room.id)).status).toBe(503);
    socket.close();
    second.close();
  });

  it("gives a new listener the recent messages and the newest seq", async () => {
    const [owner, late] = [await newUser("owner"), await newUser("late")];
    const room = await newRoom(owner);
    const { socket } = await RoomSocket.join(owner, room.id);
    for (const word of ["one", "two", "three"])
      expect((await socket.speak(word)).errorCode).toBe(Err.ERR_SUCCESS);
    const { socket: second, joined } = await RoomSocket.join(late, room.id);
    expect(joined.maxSeq).toBe(3);
    expect(joined.recent.map((m) => [m.seq, text(m.content), m.senderId])).toEqual([
      [1, "one", owner.userId],
      [2, "two", owner.userId],
      [3, "three", owner.userId],
    ]);
    socket.close();
    second.close();
  });
});

describe("speaking in a room", () => {
  it("spreads listeners over relays and pushes every message to each, in seq order", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const room = await newRoom(a);
    await roomSettings(room.id, { listenersPerRelay: 1, sendBurst: 100 });
    const first = await RoomSocket.join(a, room.id);
    const second = await RoomSocket.join(b, room.id);
    const third = await RoomSocket.join(c, room.id);
    expect([
      await socketsOnRelay(room.id, 0),
      await socketsOnRelay(room.id, 1),
      await socketsOnRelay(room.id, 2),
    ]).toEqual([1, 1, 1]);
    // Two speakers at once, without waiting: sends pile up while deliveries are in flight, so relays
    // get batches of several messages.
    const sends = [];
    for (let i = 0; i < 15; i++) sends.push(first.socket.speak(`a${i}`), second.socket.speak(`b${i}`));
    const acks = await Promise.all(sends);
    expect(acks.every((r) => r.errorCode === Err.ERR_SUCCESS)).toBe(true);
    const sentBySeq = new Map(acks.map((r) => [r.seq, r.clientMsgId]));
    expect([...sentBySeq.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const listener of [first, second, third]) {
      const got = await listener.socket.pushedThrough(30);
      expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(got.map((m) => m.clientMsgId)).toEqual(got.map((m) => sentBySeq.get(m.seq)));
      expect(got.every((m) => m.serverMsgId.length === 26)).toBe(true);
      listener.socket.close();
    }
  });

  it("reaches its room again after the room's object was reset", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(a, room.id);
    expect((await socket.speak("before")).errorCode).toBe(Err.ERR_SUCCESS);
    await expect(
      runInDurableObject(env.CHATROOM_OBJECT.getByName(roomObjectName(room.id)), (_instance, state) =>
        state.abort("reset by the test"),
      ),
    ).rejects.toThrow("reset by the test");
    // A call the reset cut short is answered ERR_UNKNOWN (the client resends); the relay's calls
    // after it must reach the room again rather than fail every send from now on.
    const first = await socket.speak("after", "cmid-after");
    expect([Err.ERR_SUCCESS, Err.ERR_UNKNOWN]).toContain(first.errorCode);
    const resent = await socket.speak("after", "cmid-after");
    expect(resent.errorCode).toBe(Err.ERR_SUCCESS);
    expect((await socket.speak("next")).errorCode).toBe(Err.ERR_SUCCESS);
    socket.close();
  });

  it("reaches a relay again after the relay's object was reset", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    await roomSettings(room.id, { listenersPerRelay: 1 });
    const first = await RoomSocket.join(a, room.id);
    const second = await RoomSocket.join(b, room.id);
    expect([await socketsOnRelay(room.id, 0), await socketsOnRelay(room.id, 1)]).toEqual([1, 1]);
    expect((await first.socket.speak("before")).errorCode).toBe(Err.ERR_SUCCESS);
    await second.socket.pushedThrough(1);

    // B's relay restarts, and B's socket with it: the room still counts B there.
    await expect(
      runInDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 1)), (_instance, state) =>
        state.abort("reset by the test"),
      ),
    ).rejects.toThrow("reset by the test");
    expect((await first.socket.speak("after")).errorCode).toBe(Err.ERR_SUCCESS);
    // The room's delivery to that relay may be cut short by the reset and fail; a retry (the alarm,
    // run here at once) must reach the relay, whose answer corrects the count.
    const roomObject = env.CHATROOM_OBJECT.getByName(roomObjectName(room.id));
    for (let attempt = 0; attempt < 4 && (await roomListeners(room.id)) !== 1; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await runDurableObjectAlarm(roomObject);
    }
    expect(await roomListeners(room.id)).toBe(1);
    // So B comes back to the same relay, and hears what follows.
    const again = await RoomSocket.join(b, room.id);
    expect(await socketsOnRelay(room.id, 1)).toBe(1);
    expect((await first.socket.speak("third")).errorCode).toBe(Err.ERR_SUCCESS);
    expect((await again.socket.pushedThrough(3)).map((m) => text(m.content))).toContain("third");
    first.socket.close();
    again.socket.close();
  });

  it("answers a resend of a kept client_msg_id with the stored seq and stores nothing new", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(a, room.id);
    const first = await socket.speak("hello", "cmid-1");
    const again = await socket.speak("hello", "cmid-1");
    expect(again).toMatchObject({
      errorCode: Err.ERR_SUCCESS,
      seq: first.seq,
      serverMsgId: first.serverMsgId,
    });
    expect((await socket.speak("next", "cmid-2")).seq).toBe(first.seq + 1);
    expect((await socket.history(0, 10)).messages.map((m) => m.clientMsgId)).toEqual(["cmid-1", "cmid-2"]);
    socket.close();
  });

  it("recognises a resend after the room dropped it from its kept window, and forgets sends after DEDUP_WINDOW_MS", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    await roomSettings(room.id, { historyKeep: 2, sendBurst: 100 });
    const { socket } = await RoomSocket.join(a, room.id);
    const first = await socket.speak("first", "resent-later");
    for (let i = 0; i < 4; i++) await socket.speak(`busy ${i}`);
    const again = await socket.speak("first", "resent-later");
    expect(again).toMatchObject({
      errorCode: Err.ERR_SUCCESS,
      seq: first.seq,
      serverMsgId: first.serverMsgId,
    });
    expect((await socket.speak("next")).seq).toBe(6);
    // Past the window, a send's row goes with the next send (the table stays bounded).
    const sends = () =>
      runInDurableObject(env.CHATROOM_OBJECT.getByName(roomObjectName(room.id)), (_i, state) =>
        state.storage.sql
          .exec<{ client_msg_id: string }>("SELECT client_msg_id FROM room_sends")
          .toArray()
          .map((r) => r.client_msg_id),
      );
    expect(await sends()).toContain("resent-later");
    await runInDurableObject(env.CHATROOM_OBJECT.getByName(roomObjectName(room.id)), (_i, state) => {
      state.storage.sql.exec(
        "UPDATE room_sends SET server_time = server_time - ? WHERE client_msg_id = ?",
        DEDUP_WINDOW_MS + 1,
        "resent-later",
      );
    });
    await socket.speak("prunes");
    expect(await sends()).not.toContain("resent-later");
    socket.close();
  });

  it("shows no message past CHATROOM_HISTORY_KEEP, in history pages or at a join", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    await roomSettings(room.id, { historyKeep: 2 });
    const { socket } = await RoomSocket.join(a, room.id);
    for (let i = 1; i <= 5; i++) await socket.speak(`m${i}`);
    expect((await socket.history(0, 10)).messages.map((m) => m.seq)).toEqual([4, 5]);
    const late = await RoomSocket.join(b, room.id);
    expect(late.joined.recent.map((m) => m.seq)).toEqual([4, 5]);
    socket.close();
    late.socket.close();
  });

  it("refuses a sender past its rate, and content past the size limit, storing nothing", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    await roomSettings(room.id, { sendPerSecond: 0.001, sendBurst: 2 });
    const { socket } = await RoomSocket.join(a, room.id);
    expect((await socket.speak("1")).errorCode).toBe(Err.ERR_SUCCESS);
    expect((await socket.speak("2")).errorCode).toBe(Err.ERR_SUCCESS);
    const fast = await socket.speak("3", "too-fast");
    expect(fast.errorCode).toBe(Err.ERR_SEND_TOO_FAST);
    expect(fast.seq).toBe(0);
    // A client matches answers by client_msg_id alone: every refusal repeats it.
    expect(fast.clientMsgId).toBe("too-fast");
    const big = await socket.speak("x".repeat(readSettings(env).chatroom.messageMaxBytes + 1), "too-big");
    expect(big.errorCode).toBe(Err.ERR_MESSAGE_TOO_LARGE);
    expect(big.clientMsgId).toBe("too-big");
    expect((await socket.history(0, 10)).messages).toHaveLength(2);
    const empty = await socket.speak("x", "");
    expect(empty.errorCode).toBe(Err.ERR_INVALID_PARAM);
    socket.close();
  });

  it("answers a send past the socket's request budget with CHATROOM_SEND_RSP naming its client_msg_id", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(a, room.id);
    // Before the socket's first request, which sizes its budget.
    await runInDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0)), (instance) => {
      Object.assign(instance["services"](), { socketRequestsPerSecond: 0.001, socketRequestBurst: 1 });
    });
    expect((await socket.speak("1", "in-budget")).errorCode).toBe(Err.ERR_SUCCESS);
    const over = await socket.speak("2", "over-budget");
    expect(over).toMatchObject({ errorCode: Err.ERR_SEND_TOO_FAST, clientMsgId: "over-budget", seq: 0 });
    socket.close();
  });

  it("fills a gap with HISTORY_REQ pages and bounds the page", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(a, room.id);
    for (let i = 1; i <= 5; i++) await socket.speak(`m${i}`);
    const page = await socket.history(2, 2);
    expect(page.errorCode).toBe(Err.ERR_SUCCESS);
    expect(page.messages.map((m) => m.seq)).toEqual([3, 4]);
    expect(page.hasMore).toBe(true);
    const rest = await socket.history(4, 10);
    expect(rest.messages.map((m) => text(m.content))).toEqual(["m5"]);
    expect(rest.hasMore).toBe(false);
    expect((await socket.history(0, 201)).errorCode).toBe(Err.ERR_INVALID_PARAM);
    socket.close();
  });

  it("gives HISTORY_REQ a small budget of its own, within the socket's", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(a, room.id);
    await socket.speak("m1");
    const pages = await Promise.all(
      Array.from({ length: HISTORY_REQUEST_BURST + 1 }, () => socket.history(0, 200)),
    );
    expect(pages.slice(0, HISTORY_REQUEST_BURST).every((p) => p.errorCode === Err.ERR_SUCCESS)).toBe(true);
    expect(pages.at(-1)?.errorCode).toBe(Err.ERR_SEND_TOO_FAST);
    // Other requests keep the socket's own budget.
    expect((await socket.speak("m2")).errorCode).toBe(Err.ERR_SUCCESS);
    socket.close();
  });

  it("lets a listener that sees a seq gap (a delivery the room lost) fill it with HISTORY_REQ", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    const speaker = await RoomSocket.join(a, room.id);
    const listener = await RoomSocket.join(b, room.id);
    await speaker.socket.speak("m1");
    expect((await listener.socket.pushedThrough(1)).map((m) => m.seq)).toEqual([1]);
    // As after a room restart: the room believes relay 0 already has seq 2, so seq 2 never reaches it.
    await runInDurableObject(env.CHATROOM_OBJECT.getByName(roomObjectName(room.id)), (instance) => {
      instance["pumps"]["delivered"].set(0, 2);
    });
    await speaker.socket.speak("m2");
    await speaker.socket.speak("m3");
    const pushed = await listener.socket.pushedThrough(3);
    expect(pushed.map((m) => m.seq)).toEqual([3]);
    const fill = await listener.socket.history(1, 200);
    expect(fill.messages.map((m) => [m.seq, text(m.content)])).toEqual([
      [2, "m2"],
      [3, "m3"],
    ]);
    expect(fill.hasMore).toBe(false);
    speaker.socket.close();
    listener.socket.close();
  });

  it("keeps every frame within the frame limit with the largest messages: pushes, the join and history pages", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    const big = { messageMaxBytes: 65_536, sendBurst: 100 };
    await roomSettings(room.id, big);
    await relaySettings(room.id, 0, big);
    const speaker = await RoomSocket.join(a, room.id);
    const content = "x".repeat(60_000);
    // Sent without waiting, so they pile up into batches larger than one frame may carry.
    const acks = await Promise.all(Array.from({ length: 40 }, () => speaker.socket.speak(content)));
    expect(acks.every((r) => r.errorCode === Err.ERR_SUCCESS)).toBe(true);
    expect((await speaker.socket.pushedThrough(40)).map((m) => m.seq)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    const late = await RoomSocket.join(b, room.id);
    expect(late.joined.maxSeq).toBe(40);
    expect(late.joined.recent.length).toBeGreaterThan(0);
    expect(late.joined.recent.length).toBeLessThan(40);
    expect(late.joined.recent.at(-1)?.seq).toBe(40);
    const page = await late.socket.history(0, 200);
    expect(page.messages[0]?.seq).toBe(1);
    expect(page.messages.length).toBeLessThan(40);
    expect(page.hasMore).toBe(true);
    for (const socket of [speaker.socket, late.socket]) {
      expect(socket.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      socket.close();
    }
  });

  it("closes a listener that never acks past CHATROOM_MAX_UNACKED with 4008, and keeps the room going", async () => {
    const [a, slow] = [await newUser("a"), await newUser("slow")];
    const room = await newRoom(a);
    await relaySettings(room.id, 0, { maxUnacked: 3 });
    await noAckGrace(room.id, 0);
    const speaker = await RoomSocket.join(a, room.id);
    const listener = await RoomSocket.join(slow, room.id);
    for (let i = 1; i <= 5; i++) {
      expect((await speaker.socket.speak(`m${i}`)).seq).toBe(i);
      const [pushed] = await speaker.socket.pushedThrough(i);
      speaker.socket.ack(pushed!.seq);
    }
    expect((await listener.socket.closed).code).toBe(4008);
    expect(speaker.socket.isOpen).toBe(true);
    expect((await speaker.socket.speak("m6")).seq).toBe(6);
    expect((await speaker.socket.pushedThrough(6)).map((m) => m.seq)).toEqual([6]);
    speaker.socket.close();
  });

  it("keeps an ack that lands while a first send's session check is on its way", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    const speaker = await RoomSocket.join(a, room.id);
    const listener = await RoomSocket.join(b, room.id);
    for (let i = 1; i <= 3; i++) await speaker.socket.speak(`m${i}`);
    await listener.socket.pushedThrough(3);
    // B's first send checks its session in D1; the ack, handled at once, lands meanwhile.
    const sent = listener.socket.speak("mine");
    listener.socket.ack(3);
    expect((await sent).seq).toBe(4);
    const acked = await runInDurableObject(
      env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0)),
      (_i, state) =>
        state
          .getWebSockets()
          .map((ws) => ws.deserializeAttachment() as { userId: string; ackedSeq: number })
          .find((l) => l.userId === b.userId)?.ackedSeq,
    );
    expect(acked).toBe(3);
    speaker.socket.close();
    listener.socket.close();
  });

  it("never counts a backlog pushed in back-to-back batches as slowness, only what a listener had time to ack", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    await relaySettings(room.id, 0, { maxUnacked: 3 });
    const listener = await RoomSocket.join(b, room.id);
    const relay = env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0));
    const message = (seq: number) => ({
      serverMsgId: `m${seq}`,
      clientMsgId: `c${seq}`,
      senderId: a.userId,
      seq,
      messageType: 1,
      content: new TextEncoder().encode(`m${seq}`),
      serverTime: Date.now(),
    });
    // As a retried delivery does: the backlog in batches, faster than any listener could ack.
    for (let batch = 0; batch < 3; batch++)
      expect(await relay.deliver([1, 2, 3].map((i) => message(batch * 3 + i)))).toBe(1);
    expect((await listener.socket.pushedThrough(9)).map((m) => m.seq)).toEqual(range(1, 9));
    expect(listener.socket.isOpen).toBe(true);
    // Once it had its time to ack them, the same lag is slowness.
    await noAckGrace(room.id, 0);
    expect(await relay.deliver([message(10)])).toBe(0);
    expect((await listener.socket.closed).code).toBe(4008);
  });

  it("refuses the send of a user banned while its relay was not told, and closes its socket", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(b, room.id);
    // Banned in D1 only, as when the ban's call to the relay failed (an admin ban closes the socket
    // itself: chatroom-sessions.test.ts): the check before a send is what refuses it.
    await env.DB.prepare("UPDATE users SET status = ? WHERE id = ?")
      .bind(AccountStatus.banned, b.userId)
      .run();
    const refused = await socket.speak("let me");
    expect(refused.errorCode).toBe(Err.ERR_AUTH_FAILED);
    expect(refused.errorMsg).toBe("Account banned");
    expect((await socket.closed).code).toBe(1008);
    const { socket: owner } = await RoomSocket.join(a, room.id);
    expect((await owner.history(0, 10)).messages).toEqual([]);
    owner.close();
  });

  it("tells every listener CHATROOM_CLOSED when the room closes, then refuses joins", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    await roomSettings(room.id, { listenersPerRelay: 1 });
    const listeners = [await RoomSocket.join(a, room.id), await RoomSocket.join(b, room.id)];
    expect((await listeners[0]!.socket.speak("before")).seq).toBe(1);
    expect((await api(`/api/chatrooms/${room.id}`, { method: "DELETE", token: a.token })).body.code).toBe(0);
    for (const { socket } of listeners) {
      const closed = pb.ChatroomClosed.decode((await socket.nextCommand(Cmd.CMD_CHATROOM_CLOSED)).body);
      expect(closed).toMatchObject({ roomId: room.id, reason: "closed by its creator" });
      expect((await socket.closed).code).toBe(1000);
    }
    expect((await upgradeRoom(b, room.id)).status).toBe(404);
    // The room object itself refuses, whatever D1 says, and keeps no message.
    const stub = env.CHATROOM_OBJECT.getByName(roomObjectName(room.id));
    expect((await stub.history(0, 10)).messages).toEqual([]);
    expect(
      await stub.send(a.userId, { clientMsgId: "x", messageType: 1, content: new Uint8Array() }),
    ).toMatchObject({
      ok: false,
      code: Err.ERR_CONVERSATION_NOT_EXIST,
    });
  });
});

describe("a room across hibernation", () => {
  it("pushes what was stored just before the room restarted and never reached a relay", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    const speaker = await RoomSocket.join(a, room.id);
    const listener = await RoomSocket.join(b, room.id);
    await speaker.socket.speak("m1");
    expect((await listener.socket.pushedThrough(1)).map((m) => m.seq)).toEqual([1]);
    const roomStub = env.CHATROOM_OBJECT.getByName(roomObjectName(room.id));
    // This instance's deliveries never arrive (as when it dies right after storing).
    await runInDurableObject(roomStub, (instance) => {
      instance["pumps"]["deps"].deliver = () => new Promise<number>(() => {});
    });
    expect((await speaker.socket.speak("m2")).seq).toBe(2);
    await evictDurableObject(roomStub);
    await roomStub.listeners(); // the restarted room
    expect((await listener.socket.pushedThrough(2)).map((m) => m.seq)).toContain(2);
    speaker.socket.close();
    listener.socket.close();
  });

  it("still retries a failed delivery to a relay that takes a listener meanwhile", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const room = await newRoom(a);
    const speaker = await RoomSocket.join(a, room.id);
    const listener = await RoomSocket.join(b, room.id);
    await speaker.socket.speak("m1");
    expect((await listener.socket.pushedThrough(1)).map((m) => m.seq)).toEqual([1]);
    const roomStub = env.CHATROOM_OBJECT.getByName(roomObjectName(room.id));
    let realDeliver: unknown;
    await runInDurableObject(roomStub, (instance) => {
      realDeliver = instance["pumps"]["deps"].deliver;
      instance["pumps"]["deps"].deliver = () => Promise.reject(new Error("relay unreachable"));
    });
    expect((await speaker.socket.speak("m2")).seq).toBe(2);
    await runInDurableObject(roomStub, (instance) => {
      expect(instance["pumps"].lagging()).toEqual([0]);
      instance["pumps"]["deps"].deliver = realDeliver as never;
      // Its count drifted to 0, so the next join starts the relay afresh.
      instance["loads"].reported(0, 0);
    });
    const late = await RoomSocket.join(c, room.id);
    await runDurableObjectAlarm(roomStub);
    expect((await listener.socket.pushedThrough(2)).map((m) => m.seq)).toContain(2);
    for (const socket of [speaker.socket, listener.socket, late.socket]) socket.close();
  });

  it("keeps listeners, seqs, dedup and acks when the room and its relays are evicted, and arms no alarm", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    await roomSettings(room.id, { listenersPerRelay: 1 });
    const speaker = await RoomSocket.join(a, room.id);
    const listener = await RoomSocket.join(b, room.id);
    const first = await speaker.socket.speak("one", "keep-me");
    await speaker.socket.speak("two");
    expect((await listener.socket.pushedThrough(2)).map((m) => m.seq)).toEqual([1, 2]);
    listener.socket.ack(2);
    // A heartbeat's answer: the ack before it has been applied.
    await listener.socket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      {},
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );

    const roomStub = env.CHATROOM_OBJECT.getByName(roomObjectName(room.id));
    expect(await runInDurableObject(roomStub, (_i, state) => state.storage.getAlarm())).toBeNull();
    await evictDurableObject(roomStub);
    await evictDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0)));
    await evictDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 1)));

    expect(await speaker.socket.speak("one", "keep-me")).toMatchObject({
      seq: first.seq,
      serverMsgId: first.serverMsgId,
    });
    expect((await speaker.socket.speak("three")).seq).toBe(3);
    const pushed = await listener.socket.pushedThrough(3);
    expect(pushed.map((m) => [m.seq, text(m.content)])).toEqual([[3, "three"]]);
    const acked = await runInDurableObject(
      env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 1)),
      (_i, state) =>
        state.getWebSockets().map((ws) => (ws.deserializeAttachment() as { ackedSeq: number }).ackedSeq),
    );
    expect(acked).toEqual([2]);
    speaker.socket.close();
    listener.socket.close();
  });
});

describe("room socket frames", () => {
  it("answers unknown commands, server commands and bad frames with an ErrorNotice", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const { socket } = await RoomSocket.join(a, room.id);
    socket.sendRaw(encodeFrame(4242 as Cmd, 7, pb.HeartbeatRequest, {}));
    let notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice).toMatchObject({ errorCode: Err.ERR_INVALID_PARAM, refSequence: 7 });
    expect(notice.errorMsg).toMatch(/unknown command 4242/);
    socket.sendRaw(encodeFrame(Cmd.CMD_CHATROOM_PUSH, 8, pb.ChatroomPush, {}));
    notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice).toMatchObject({
      errorCode: Err.ERR_INVALID_PARAM,
      refSequence: 8,
      refCommand: Cmd.CMD_CHATROOM_PUSH,
    });
    socket.sendRaw(encodeFrame(Cmd.CMD_AUTH_REQ, 9, pb.AuthRequest, {}));
    notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice.refCommand).toBe(Cmd.CMD_AUTH_REQ);
    socket.sendRaw(new Uint8Array([0xff, 0xff, 0xff]));
    notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice.errorMsg).toMatch(/undecodable/);
    const beat = await socket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      { clientTime: 1 },
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );
    expect(beat.serverTime).toBeGreaterThan(0);
    socket.close();
  });

  it("stops counting and pushing to a socket the relay closed, at once", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const room = await newRoom(a);
    const speaker = await RoomSocket.join(a, room.id);
    const hostile = await RoomSocket.join(b, room.id);
    for (let i = 0; i < 20; i++) hostile.socket.ws.send("not a frame");
    expect((await hostile.socket.closed).code).toBe(1008);
    const live = await runInDurableObject(
      env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0)),
      (instance) => instance["sockets"]().size,
    );
    expect(live).toBe(1);
    await expect.poll(() => roomListeners(room.id)).toBe(1);
    speaker.socket.close();
  });

  it("never sends chatroom frames on the user's /ws socket", async () => {
    const a = await newUser("a");
    const room = await newRoom(a);
    const user = await TestSocket.connect(a);
    const { socket } = await RoomSocket.join(a, room.id);
    await socket.speak("only in the room");
    await socket.pushedThrough(1);
    // A round trip on /ws after the room's push: anything meant for it would have come first.
    await user.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      { clientTime: 1 },
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );
    expect(user.drainAll().filter((f) => f.command >= 1000)).toEqual([]);
    // And /ws takes no chatroom request: it points the client to the room socket.
    user.send(Cmd.CMD_CHATROOM_SEND_REQ, pb.ChatroomSendRequest, { clientMsgId: "x" });
    const notice = pb.ErrorNotice.decode((await user.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice.errorCode).toBe(Err.ERR_INVALID_PARAM);
    expect(notice.errorMsg).toMatch(/chatroom socket/);
    socket.close();
    user.close();
  });
});
