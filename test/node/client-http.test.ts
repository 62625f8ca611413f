// The client SDK's HTTP half against a real `wrangler dev`: register, login, user look-ups,
// token refresh (rotation, single flight, automatic on 401 and before connecting), logout, errors,
// push token registration and push settings.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMClient, IMHttpError, type Session } from "edge-im/client";
import { startDevServer, type DevServer } from "./helpers/dev-server";

let server: DevServer;
beforeAll(async () => {
  // A push webhook is configured (never called here: nobody is offline with a message waiting).
  server = await startDevServer({
    vars: {
      PUSH_WEBHOOK_URL: "http://127.0.0.1:9/push",
      PUSH_WEBHOOK_SECRET: randomBytes(32).toString("hex"),
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
const unique = (name: string) => `${name}${Date.now().toString(36)}${(n++).toString(36)}`;

async function loggedIn(name: string) {
  const client = new IMClient({ apiUrl: `${server.origin}/` });
  const sessions: (Session | null)[] = [];
  client.on("session", (s) => sessions.push(s));
  const username = unique(name);
  const user = await client.register({ username, password: "http-test-password", nickname: name });
  const session = await client.login({ username, password: "http-test-password" });
  return { client, sessions, user, session, username };
}

describe("IMClient over HTTP", () => {
  it("registers and logs in, keeping the session and announcing it", async () => {
    const { client, sessions, user, session } = await loggedIn("carol");
    expect(user).toMatchObject({ nickname: "carol" });
    expect(session.userID).toBe(user.userID);
    expect(session.expiresAt).toBeGreaterThan(Date.now());
    expect(client.userId).toBe(user.userID);
    expect(client.session).toEqual(session);
    expect(sessions).toEqual([session]);
  });

  it("reports refusals as IMHttpError with the envelope's code and message", async () => {
    const { client, username } = await loggedIn("dave");
    const taken = await client.register({ username, password: "another-password" }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(IMHttpError);
    expect(taken).toMatchObject({ kind: "http", status: 200, code: 409, message: "username already exists" });
    const wrong = await client.login({ username, password: "wrong-password" }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 200, code: 401 });
    const missing = await client.getUser("nobody-here").catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 200, code: 404 });
    const offline = new IMClient({ apiUrl: "http://127.0.0.1:9" });
    const unreachable = await offline
      .register({ username: "x-y-z", password: "123456" })
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ kind: "http", status: 0 });
  });

  it("looks up one user and several", async () => {
    const a = await loggedIn("erin");
    const b = await loggedIn("frank");
    expect(await a.client.getUser(b.user.userID)).toEqual(b.user);
    const both = await a.client.getUsers([a.user.userID, b.user.userID, "nobody-here"]);
    expect(both.map((u) => u.userID).sort()).toEqual([a.user.userID, b.user.userID].sort());
  });

  it("refreshes with rotation, one request however many callers ask at once", async () => {
    const { client, session } = await loggedIn("grace");
    const [first, second] = await Promise.all([client.refresh(), client.refresh()]);
    expect(first).toBe(second);
    expect(first.refreshToken).not.toBe(session.refreshToken);
    // Had both calls spent the same refresh token, the server would have revoked the family.
    const third = await client.refresh();
    expect(third.refreshToken).not.toBe(first.refreshToken);
  });

  it("answers a 401 with one refresh and a retry, and refreshes an expiring token before connecting", async () => {
    const { client, session, user } = await loggedIn("heidi");
    client.useSession({ ...session, token: "not-a-valid-token" });
    expect(await client.getUser(user.userID)).toEqual(user);
    expect(client.session!.token).not.toBe("not-a-valid-token");

    client.useSession({ ...client.session!, token: "not-a-valid-token", expiresAt: Date.now() - 1 });
    await client.connect();
    expect(client.state).toBe("ready");
    expect(client.session!.token).not.toBe("not-a-valid-token");
    client.disconnect();
    expect(client.state).toBe("stopped");
  });

  it("logs out: the session is gone and its refresh token is revoked", async () => {
    const { client, sessions, session } = await loggedIn("ivan");
    await client.logout();
    expect(client.session).toBeNull();
    expect(sessions.at(-1)).toBeNull();
    await expect(client.getUser(session.userID)).rejects.toMatchObject({
      code: 401,
      message: "not logged in",
    });
    const other = new IMClient({ apiUrl: server.origin });
    other.useSession(session);
    await expect(other.refresh()).rejects.toMatchObject({ status: 401 });
    expect(other.session).toBeNull();
  });

  it("registers and unregisters this session's push token, and keeps the push settings", async () => {
    const { client, session } = await loggedIn("pia");
    const devices = async () => {
      const response = await fetch(`${server.origin}/api/push/devices`, {
        headers: { Authorization: `Bearer ${client.session!.token}` },
      });
      return ((await response.json()) as { data: { deviceID: string; provider: string; current: boolean }[] })
        .data;
    };
    const deviceId = await client.registerPushToken({
      provider: "webhook",
      token: "device-token-1",
      appId: "chat.test",
    });
    expect(await devices()).toEqual([
      expect.objectContaining({ deviceID: deviceId, provider: "webhook", current: true }),
    ]);
    // APNs is not configured here: a clear refusal, nothing registered.
    const refused = await client
      .registerPushToken({ provider: "apns", token: "ab".repeat(32), appId: "com.example.chat" })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IMHttpError);
    expect((refused as IMHttpError).code).toBe(400);
    expect(await devices()).toHaveLength(1);

    expect(await client.pushSettings()).toEqual({ previews: true, quietHours: null });
    const quietHours = { start: "22:30", end: "07:00", timeZone: "Asia/Shanghai" };
    expect(await client.setPushSettings({ previews: false, quietHours })).toEqual({
      previews: false,
      quietHours,
    });
    expect(await client.setPushSettings({ quietHours: null })).toEqual({ previews: false, quietHours: null });

    await client.unregisterPushToken();
    expect(await devices()).toEqual([]);
    expect(session.userID).toBeTruthy();
  });
});
