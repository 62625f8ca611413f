// Sessions the iOS SDK can keep: a 30-day access token (the SDK never refreshes), made safe by a
// server-side session that logout, a password change or logout-everywhere ends at once.
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { api, newUser, ORIGIN, refusal, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

const DAY_MS = 86_400_000;

async function upgradeStatus(token: string): Promise<number> {
  const response = await exports.default.fetch(`${ORIGIN}/ws?token=${encodeURIComponent(token)}`, {
    headers: { Upgrade: "websocket" },
  });
  response.webSocket?.accept();
  response.webSocket?.close();
  return response.status;
}

const profile = (user: TestUser) => api(`/api/user/info/${user.userId}`, { token: user.token });

async function loginAgain(user: TestUser, platform = "iOS"): Promise<TestUser> {
  const login = await api<{ token: string; refreshToken: string }>("/api/auth/login", {
    body: { username: user.username, password: user.password, platform },
  });
  const data = login.body.data;
  if (!data) throw new Error(`login failed: ${login.body.message}`);
  return { ...user, token: data.token, refreshToken: data.refreshToken };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("sessions", () => {
  it("keeps an access token valid after 29 days (clock moved) and refuses it after 30", async () => {
    const user = await newUser("longlived");
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 29 * DAY_MS });
    expect((await profile(user)).body.code).toBe(0);
    expect(await upgradeStatus(user.token)).toBe(101);
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const expired = await profile(user);
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/i);
    expect(await upgradeStatus(user.token)).toBe(401);
  });

  it("refuses a token after its logout, on HTTP, on upgrade and for refresh, and closes its live socket", async () => {
    const user = await newUser("leaving");
    const other = await loginAgain(user, "macOS");
    const socket = await TestSocket.connect(user);
    const otherSocket = await TestSocket.connect(other, "macOS");

    expect((await api("/api/auth/logout", { body: {}, token: user.token })).body.code).toBe(0);

    const kick = pb.KickOutNotification.decode((await socket.nextCommand(Cmd.CMD_KICK_OUT)).body);
    expect(kick.reason).toBe(2);
    expect((await socket.closed).code).toBe(4001);
    const after = await profile(user);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 401, message: "Session ended" });
    expect(await upgradeStatus(user.token)).toBe(401);
    const refresh = await api("/api/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(refresh.status).toBe(401);

    // The user's other session is untouched: its token works and its socket stays open.
    expect((await profile(other)).body.code).toBe(0);
    const beat = { clientTime: Date.now() };
    await otherSocket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      beat,
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );
    expect(otherSocket.hasQueued(Cmd.CMD_KICK_OUT)).toBe(false);
    otherSocket.close();
  });

  it("ends every session with logout all", async () => {
    const user = await newUser("everywhere");
    const second = await loginAgain(user, "Android");
    expect((await api("/api/auth/logout", { body: { all: true }, token: user.token })).body.code).toBe(0);
    expect((await profile(user)).status).toBe(401);
    expect((await profile(second)).status).toBe(401);
    expect(await upgradeStatus(second.token)).toBe(401);
  });

  it("ends the other sessions on a password change and keeps the caller's", async () => {
    const user = await newUser("rotate");
    const stolen = await loginAgain(user, "Android");
    const stolenSocket = await TestSocket.connect(stolen, "Android");

    const wrong = await api("/api/auth/password", {
      body: { oldPassword: "not-the-password", newPassword: "a-new-password" },
      token: user.token,
    });
    expect(refusal(wrong)).toBe(403);
    expect((await profile(stolen)).body.code).toBe(0); // a refused change ends nothing

    const changed = await api("/api/auth/password", {
      body: { oldPassword: user.password, newPassword: "a-new-password" },
      token: user.token,
    });
    expect(changed.body.code).toBe(0);
    expect((await profile(user)).body.code).toBe(0);
    expect((await profile(stolen)).status).toBe(401);
    expect(
      pb.KickOutNotification.decode((await stolenSocket.nextCommand(Cmd.CMD_KICK_OUT)).body).reason,
    ).toBe(2);
    expect((await api("/api/auth/refresh", { body: { refreshToken: stolen.refreshToken } })).status).toBe(
      401,
    );

    const oldLogin = await api("/api/auth/login", {
      body: { username: user.username, password: user.password },
    });
    expect(refusal(oldLogin)).toBe(401);
    const newLogin = await api("/api/auth/login", {
      body: { username: user.username, password: "a-new-password" },
    });
    expect(newLogin.body.code).toBe(0);
  });

  it("ends the whole session when a refresh token is replayed: the thief's access token dies too", async () => {
    const user = await newUser("stolen");
    // The thief uses the stolen refresh token first and gets an access token of the same session.
    const thief = await api<{ token: string }>("/api/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    const thiefToken = thief.body.data!.token;
    expect((await profile({ ...user, token: thiefToken })).body.code).toBe(0);
    const thiefSocket = await TestSocket.connect({ ...user, token: thiefToken });
    // The owner's refresh replays the used token: the session ends for everyone holding it.
    const replay = await api("/api/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(replay.status).toBe(401);
    expect((await profile({ ...user, token: thiefToken })).status).toBe(401);
    expect(await upgradeStatus(thiefToken)).toBe(401);
    expect(pb.KickOutNotification.decode((await thiefSocket.nextCommand(Cmd.CMD_KICK_OUT)).body).reason).toBe(
      2,
    );
  });

  it("refuses REAUTH and AUTH with a token of an ended session on a socket already open", async () => {
    const user = await newUser("reauth");
    const other = await loginAgain(user, "Android");
    const socket = await TestSocket.connect(user);
    expect((await api("/api/auth/logout", { body: {}, token: other.token })).body.code).toBe(0);
    const reauth = await socket.request(
      Cmd.CMD_REAUTH_REQ,
      pb.AuthRequest,
      { userId: user.userId, token: other.token, platform: "iOS" },
      Cmd.CMD_REAUTH_RSP,
      pb.AuthResponse,
    );
    expect(reauth.errorCode).toBe(Err.ERR_AUTH_FAILED);
    expect((await socket.closed).code).toBe(1008);

    // A socket opened, not yet authenticated, is closed when its session ends.
    const third = await loginAgain(user, "macOS");
    const early = await TestSocket.open(third.token);
    expect((await api("/api/auth/logout", { body: {}, token: third.token })).body.code).toBe(0);
    expect((await early.closed).code).toBe(4001);
  });

  it("tells friends the user went offline when logout closes the last device", async () => {
    const [user, friend] = [await newUser("bye"), await newUser("friend")];
    await api("/api/friend/add", { body: { userID: friend.userId, message: "" }, token: user.token });
    await api("/api/friend/accept", { body: { userID: user.userId }, token: friend.token });
    const friendSocket = await TestSocket.connect(friend);
    const socket = await TestSocket.connect(user);
    const status = async () =>
      pb.StatusChangePush.decode((await friendSocket.nextCommand(Cmd.CMD_STATUS_CHANGE_PUSH)).body).status!;
    expect(await status()).toMatchObject({ userId: user.userId, online: true });
    expect((await api("/api/auth/logout", { body: {}, token: user.token })).body.code).toBe(0);
    await socket.closed;
    const offline = await status();
    expect(offline.userId).toBe(user.userId);
    expect(offline.online ?? false).toBe(false);
    friendSocket.close();
  });

  it("refuses a token whose signature is right but that names no session", async () => {
    const user = await newUser("nosid");
    const token = await new SignJWT({ user_id: user.userId, platform: "iOS" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user.userId)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    expect((await api(`/api/user/info/${user.userId}`, { token })).status).toBe(401);
    expect(await upgradeStatus(token)).toBe(401);
  });
});
