// Chatroom sockets when the user's sessions end (docs/CHATROOMS.md, "Ended sessions"): a ban, a
// logout or an end of all sessions closes the user's room sockets at once (CHATROOM_CLOSED, 1008),
// through the user's list of where they are; and that list bounds the room sockets one user holds.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userTag } from "../../src/objects/chatroom/listener-state";
import { relayObjectName } from "../../src/objects/chatroom/names";
import { RELAY_HEADERS } from "../../src/objects/chatroom/upgrade";
import { Cmd, pb } from "../../src/protocol/codec";
import { MAX_ROOM_SOCKETS_PER_USER } from "../../src/protocol/limits";
import { adminOk } from "./helpers/admin";
import { newRoom, RoomSocket, text, upgradeRoom } from "./helpers/chatroom";
import { api, newUser, ORIGIN, sessionOf, type TestUser } from "./helpers/http";

async function loginAgain(user: TestUser): Promise<TestUser> {
  const login = await api<{ token: string; refreshToken: string }>("/api/auth/login", {
    body: { username: user.username, password: user.password, platform: "Android" },
  });
  const data = login.body.data;
  if (!data) throw new Error(`login failed: ${login.body.message}`);
  return { ...user, token: data.token, refreshToken: data.refreshToken };
}

/** The CHATROOM_CLOSED a socket got, and how it closed. */
async function endedBy(socket: RoomSocket) {
  const closed = pb.ChatroomClosed.decode((await socket.nextCommand(Cmd.CMD_CHATROOM_CLOSED)).body);
  const { code } = await socket.closed;
  // A session's end, not the room's: the client ends as "session" and does not rejoin with it.
  expect(closed.sessionEnded).toBe(true);
  return { reason: closed.reason, code };
}

/** How many room sockets the user's object lists. */
function listed(user: TestUser): Promise<number> {
  return runInDurableObject(env.USER_OBJECT.getByName(user.userId), (_i, state) => {
    return state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM room_sockets").one().n;
  });
}

/** The user's open sockets on a room's first relay, as the relay sees them. */
function openSocketsOf(user: TestUser, roomId: string): Promise<number> {
  return runInDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(roomId, 0)), (_i, state) => {
    return state.getWebSockets(userTag(user.userId)).filter((ws) => ws.readyState === WebSocket.OPEN).length;
  });
}

describe("chatroom sockets of ended sessions", () => {
  it("closes a banned listener's sockets in every room at once, also after both objects were evicted", async () => {
    const owner = await newUser("owner");
    const banned = await newUser("banned");
    const [first, second] = [await newRoom(owner), await newRoom(owner)];
    const speaker = await RoomSocket.join(owner, first.id);
    const bystander = await RoomSocket.join(await newUser("bystander"), first.id);
    const inFirst = await RoomSocket.join(banned, first.id);
    const inSecond = await RoomSocket.join(banned, second.id);
    expect(await listed(banned)).toBe(2);
    // Hibernated: the user's list is read back from SQLite, the relay finds the socket by its tag.
    await evictDurableObject(env.USER_OBJECT.getByName(banned.userId));
    await evictDurableObject(env.CHATROOM_RELAY.getByName(relayObjectName(first.id, 0)));

    await adminOk(`/users/${banned.userId}/ban`, { body: { reason: "spam" } });

    // The ban answered once the relays had closed them: nothing the room says later reaches them.
    for (const room of [first, second]) expect(await openSocketsOf(banned, room.id)).toBe(0);
    expect(await openSocketsOf(owner, first.id)).toBe(1);
    expect(await endedBy(inFirst.socket)).toEqual({ reason: "Account banned", code: 1008 });
    expect(await endedBy(inSecond.socket)).toEqual({ reason: "Account banned", code: 1008 });
    const later = await speaker.socket.speak("after the ban");
    const seen = await bystander.socket.pushedThrough(later.seq);
    expect(seen.map((m) => text(m.content))).toContain("after the ban");
    expect(inFirst.socket.drainAll().filter((f) => f.command === Cmd.CMD_CHATROOM_PUSH)).toEqual([]);
    expect(await listed(banned)).toBe(0);
    expect((await upgradeRoom(banned, first.id)).status).toBe(401);
  });

  it("closes only the logged-out session's room sockets; logout all closes the rest", async () => {
    const owner = await newUser("owner");
    const phone = await newUser("twodevices");
    const tablet = await loginAgain(phone);
    const room = await newRoom(owner);
    const speaker = await RoomSocket.join(owner, room.id);
    const onPhone = await RoomSocket.join(phone, room.id);
    const onTablet = await RoomSocket.join(tablet, room.id);

    expect((await api("/api/auth/logout", { body: {}, token: phone.token })).body.code).toBe(0);

    expect(await endedBy(onPhone.socket)).toEqual({ reason: "Session ended", code: 1008 });
    expect(onTablet.socket.isOpen).toBe(true);
    const later = await speaker.socket.speak("still here");
    const seen = await onTablet.socket.pushedThrough(later.seq);
    expect(seen.map((m) => text(m.content))).toContain("still here");
    expect(await listed(phone)).toBe(1);

    expect((await api("/api/auth/logout", { body: { all: true }, token: tablet.token })).body.code).toBe(0);
    expect(await endedBy(onTablet.socket)).toEqual({ reason: "Session ended", code: 1008 });
    expect(await listed(phone)).toBe(0);
  });

  it("closes the other sessions' room sockets on a password change, not the caller's", async () => {
    const owner = await newUser("owner");
    const user = await newUser("changer");
    const stolen = await loginAgain(user);
    const room = await newRoom(owner);
    const mine = await RoomSocket.join(user, room.id);
    const theirs = await RoomSocket.join(stolen, room.id);

    const changed = await api("/api/auth/password", {
      body: { oldPassword: user.password, newPassword: "a-new-password" },
      token: user.token,
    });
    expect(changed.body.code).toBe(0);

    expect(await endedBy(theirs.socket)).toEqual({ reason: "Session ended", code: 1008 });
    expect(mine.socket.isOpen).toBe(true);
    expect(await openSocketsOf(user, room.id)).toBe(1);
    expect(await listed(user)).toBe(1);
    mine.socket.close();
  });

  it(`refuses a user's room socket past ${MAX_ROOM_SOCKETS_PER_USER}, before the upgrade, and frees a slot on close`, async () => {
    const owner = await newUser("owner");
    const user = await newUser("many");
    const rooms = [await newRoom(owner), await newRoom(owner)];
    const sockets: RoomSocket[] = [];
    for (let i = 0; i < MAX_ROOM_SOCKETS_PER_USER; i++)
      sockets.push((await RoomSocket.join(user, rooms[i % 2]!.id)).socket);

    const refused = await upgradeRoom(user, rooms[0]!.id);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 429,
      message: `too many chatroom connections: at most ${MAX_ROOM_SOCKETS_PER_USER} per user`,
    });
    expect(refused.ws).toBeNull();
    // Another user is not held back by it.
    (await RoomSocket.join(owner, rooms[0]!.id)).socket.close();

    sockets[0]!.close();
    await sockets[0]!.closed;
    // The relay frees the slot once it sees the close: wait for it without timing it.
    while ((await listed(user)) > MAX_ROOM_SOCKETS_PER_USER - 1) await scheduler.wait(5);
    const again = await RoomSocket.join(user, rooms[0]!.id);
    expect(again.socket.isOpen).toBe(true);
    for (const socket of [...sockets.slice(1), again.socket]) socket.close();
  });

  it("forgets listed sockets their relay no longer holds once the user reaches the bound", async () => {
    const owner = await newUser("owner");
    const user = await newUser("stale");
    const room = await newRoom(owner);
    const relay = relayObjectName(room.id, 0);
    // Entries whose close was never reported (a relay restarted, a release was lost).
    await runInDurableObject(env.USER_OBJECT.getByName(user.userId), (instance) => {
      const registry = instance["roomSockets"];
      for (let i = 0; i < MAX_ROOM_SOCKETS_PER_USER; i++)
        registry.place(registry.reserve("gone-session", Date.now()), relay);
    });
    expect(await listed(user)).toBe(MAX_ROOM_SOCKETS_PER_USER);

    const joined = await RoomSocket.join(user, room.id);
    expect(joined.socket.isOpen).toBe(true);
    expect(await listed(user)).toBe(1);
    joined.socket.close();
  });

  it("refuses a join whose session ended between its session check and its relay", async () => {
    const owner = await newUser("owner");
    const user = await newUser("racing");
    const room = await newRoom(owner);
    const userObject = env.USER_OBJECT.getByName(user.userId);
    // The route reserved the slot and read the session (standing); then the user logged out
    // everywhere before the upgrade reached the relay.
    const reservation = await userObject.reserveRoomSocket(sessionOf(user.token));
    if (!reservation.ok) throw new Error(reservation.message);
    await userObject.endSessions(null, null, "ended");

    const headers = new Headers({ Upgrade: "websocket" });
    headers.set(RELAY_HEADERS.userId, user.userId);
    headers.set(RELAY_HEADERS.sessionId, sessionOf(user.token));
    headers.set(RELAY_HEADERS.roomId, room.id);
    headers.set(RELAY_HEADERS.relay, "0");
    headers.set(RELAY_HEADERS.socketId, reservation.socketId);
    const relay = env.CHATROOM_RELAY.getByName(relayObjectName(room.id, 0));
    const response = await relay.fetch(new Request(`${ORIGIN}/ws/chatroom/${room.id}`, { headers }));
    expect(response.webSocket).toBeNull();
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 401, message: "Session ended" });
    expect(await openSocketsOf(user, room.id)).toBe(0);
  });
});
