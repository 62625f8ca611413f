// The admin API on users, as the user's own client sees it: a ban closes every live socket with
// KICK_OUT reason 2 and refuses login, refresh, upgrade and HTTP until an unban; a forced logout
// ends every session; a password reset makes the old password useless; a report lists what the
// user sent.
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Cmd, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { adminApi, adminOk } from "./helpers/admin";
import { api, newUser, ORIGIN, refusal, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

async function upgrade(token: string): Promise<{ status: number; message: string }> {
  const response = await exports.default.fetch(`${ORIGIN}/ws?token=${encodeURIComponent(token)}`, {
    headers: { Upgrade: "websocket" },
  });
  if (response.webSocket) {
    response.webSocket.accept();
    response.webSocket.close();
    return { status: response.status, message: "" };
  }
  return { status: response.status, message: ((await response.json()) as { message: string }).message };
}

const login = (user: TestUser, password = user.password, platform = "iOS") =>
  api<{ token: string; refreshToken: string }>("/api/auth/login", {
    body: { username: user.username, password, platform },
  });

async function loginAgain(user: TestUser, platform: string): Promise<TestUser> {
  const data = (await login(user, user.password, platform)).body.data;
  if (!data) throw new Error("login failed");
  return { ...user, token: data.token, refreshToken: data.refreshToken };
}

async function kickReason(socket: TestSocket): Promise<{ reason: number; message: string }> {
  const kick = pb.KickOutNotification.decode((await socket.nextCommand(Cmd.CMD_KICK_OUT)).body);
  return { reason: kick.reason ?? 0, message: kick.message ?? "" };
}

const profile = (user: TestUser) => api(`/api/user/info/${user.userId}`, { token: user.token });

describe("looking a user up", () => {
  it("finds a user by id and by username, with status and open sessions", async () => {
    const user = await newUser("Findme");
    const byId = await adminOk<{
      user: { userID: string };
      username: string;
      status: string;
      openSessions: number;
    }>(`/users/${user.userId}`);
    expect(byId).toMatchObject({
      user: { userID: user.userId },
      username: user.username,
      status: "active",
      openSessions: 1,
    });
    const byName = await adminOk(`/users?username=${user.username.toUpperCase()}`);
    expect(byName).toEqual(byId);
    expect(refusal(await adminApi("/users?username=nobody-here"))).toBe(404);
  });
});

describe("a ban", () => {
  it("closes every live socket with KICK_OUT reason 2 and refuses login, refresh, upgrade and HTTP", async () => {
    const user = await newUser("banned");
    const other = await loginAgain(user, "Android");
    const phone = await TestSocket.connect(user);
    const tablet = await TestSocket.connect(other, "Android");

    expect((await adminApi(`/users/${user.userId}/ban`, { body: { reason: "spam" } })).body.code).toBe(0);

    for (const socket of [phone, tablet]) {
      expect(await kickReason(socket)).toEqual({ reason: 2, message: "this account is banned" });
      expect((await socket.closed).code).toBe(4001);
    }
    const refusedLogin = await login(user);
    expect(refusal(refusedLogin)).toBe(403);
    expect(refusedLogin.body.message).toBe("This account is banned");
    expect((await api("/api/auth/refresh", { body: { refreshToken: user.refreshToken } })).status).toBe(401);
    expect(await upgrade(user.token)).toEqual({ status: 401, message: "Account banned" });
    const call = await profile(other);
    expect(call.status).toBe(401);
    expect(call.body.message).toBe("Account banned");
    expect(await adminOk<{ status: string; openSessions: number }>(`/users/${user.userId}`)).toMatchObject({
      status: "banned",
      openSessions: 0,
    });
  });

  it("is lifted by an unban: the user logs in again, the tokens the ban ended stay ended", async () => {
    const user = await newUser("forgiven");
    await adminOk(`/users/${user.userId}/ban`, { body: {} });
    await adminOk(`/users/${user.userId}/unban`, { body: {} });
    expect((await profile(user)).status).toBe(401);
    const fresh = await loginAgain(user, "iOS");
    expect((await profile(fresh)).body.code).toBe(0);
    expect((await upgrade(fresh.token)).status).toBe(101);
  });

  it("refuses an unknown user with 404", async () => {
    expect(refusal(await adminApi("/users/NOSUCHUSER/ban", { body: {} }))).toBe(404);
    expect(refusal(await adminApi("/users/NOSUCHUSER/unban", { body: {} }))).toBe(404);
  });
});

describe("a forced logout", () => {
  it("ends every session and closes every socket with KICK_OUT reason 2; the user may log in again", async () => {
    const user = await newUser("stolen");
    const other = await loginAgain(user, "macOS");
    const socket = await TestSocket.connect(other, "macOS");
    await adminOk(`/users/${user.userId}/logout`, { body: {} });
    expect(await kickReason(socket)).toEqual({ reason: 2, message: "this session has ended: log in again" });
    expect((await profile(user)).status).toBe(401);
    expect((await profile(other)).body.message).toBe("Session ended");
    expect((await login(user)).body.code).toBe(0);
  });
});

describe("a password reset", () => {
  it("makes the old password and its sessions useless and lets the new one in", async () => {
    const user = await newUser("reset");
    const socket = await TestSocket.connect(user);
    await adminOk(`/users/${user.userId}/password`, { body: { newPassword: "brand-new-pass" } });
    expect((await kickReason(socket)).reason).toBe(2);
    expect((await profile(user)).status).toBe(401);
    expect(refusal(await login(user))).toBe(401);
    expect((await login(user, "brand-new-pass")).body.code).toBe(0);
  });
});

describe("a user's recent messages", () => {
  it("lists what the user sent, newest first, in pages, from D1's history", async () => {
    const [sender, peer] = [await newUser("reported"), await newUser("victim")];
    const socket = await TestSocket.connect(sender);
    for (const text of ["one", "two", "three"]) await socket.sendText(sender.userId, peer.userId, text);
    socket.close();
    const conversation = env.CONVERSATION_OBJECT.getByName(singleConversationId(sender.userId, peer.userId));
    while (await runDurableObjectAlarm(conversation));

    type Page = { messages: { text: string; conversationID: string; seq: number }[]; next: string | null };
    const first = await adminOk<Page>(`/users/${sender.userId}/messages?limit=2`);
    expect(first.messages.map((m) => m.text)).toEqual(["three", "two"]);
    expect(first.messages[0]).toMatchObject({
      conversationID: singleConversationId(sender.userId, peer.userId),
      seq: 3,
    });
    const second = await adminOk<Page>(`/users/${sender.userId}/messages?limit=2&before=${first.next}`);
    expect(second.messages.map((m) => m.text)).toEqual(["one"]);
    expect(second.next).toBeNull();
    expect((await adminOk<Page>(`/users/${peer.userId}/messages`)).messages).toEqual([]);
    expect(refusal(await adminApi(`/users/${sender.userId}/messages?before=yesterday`))).toBe(400);
  });
});
