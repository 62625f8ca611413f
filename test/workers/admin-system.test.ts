// System messages and counts through the admin API: a system message reaches a user's devices
// in their own system conversation (or their next sync when offline); a broadcast reaches every
// active user a bounded page per call; the stats count users, bans and today's messages.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Cmd, pb } from "../../src/protocol/codec";
import { singleConversationId, systemConversationId } from "../../src/protocol/conversation-id";
import { GAUGE_REFRESH_MS } from "../../src/objects/stats/socket-gauge";
import { saveSocketState, socketState } from "../../src/objects/user/socket-state";
import { BROADCAST_USERS_PER_CALL } from "../../src/worker/routes/admin/system";
import { adminApi, adminOk } from "./helpers/admin";
import { newUser, refusal, type TestUser } from "./helpers/http";
import { TestSocket, text } from "./helpers/socket";

type SystemNotice = { type: string; text: string };

/** The system messages a user's next BATCH_SYNC brings, from their system conversation. */
async function syncedSystemNotices(user: TestUser): Promise<SystemNotice[]> {
  const socket = await TestSocket.connect(user);
  const sync = await socket.request(
    Cmd.CMD_BATCH_SYNC_REQ,
    pb.BatchSyncRequest,
    {},
    Cmd.CMD_BATCH_SYNC_RSP,
    pb.BatchSyncResponse,
  );
  socket.close();
  const system = sync.conversationMessages.find(
    (c) => c.conversationId === systemConversationId(user.userId),
  );
  return (system?.messages ?? [])
    .filter((m) => m.messageType === 8)
    .map((m) => JSON.parse(text(m.content)) as SystemNotice);
}

describe("a system message", () => {
  it("is pushed to a connected user in their system conversation", async () => {
    const user = await newUser("listener");
    const socket = await TestSocket.connect(user);
    await adminOk("/system/message", { body: { userID: user.userId, text: "Maintenance at 02:00 UTC" } });
    const [pushed] = await socket.pushedMessages(1);
    expect(pushed).toMatchObject({ conversationId: systemConversationId(user.userId), messageType: 8 });
    expect(JSON.parse(text(pushed!.content))).toEqual({
      type: "system_message",
      text: "Maintenance at 02:00 UTC",
    });
    socket.close();
  });

  it("waits for an offline user's next sync", async () => {
    const user = await newUser("away");
    await adminOk("/system/message", { body: { userID: user.userId, text: "while you were out" } });
    expect(await syncedSystemNotices(user)).toEqual([{ type: "system_message", text: "while you were out" }]);
  });

  it("refuses an unknown user (404) and bad input (400)", async () => {
    const user = await newUser("someone");
    expect(refusal(await adminApi("/system/message", { body: { userID: "NOSUCHUSER", text: "hi" } }))).toBe(
      404,
    );
    expect(refusal(await adminApi("/system/message", { body: { userID: user.userId, text: "  " } }))).toBe(
      400,
    );
    expect(refusal(await adminApi("/system/message", { body: { text: "hi" } }))).toBe(400);
    expect(refusal(await adminApi("/system/broadcast", { body: { text: "x".repeat(4001) } }))).toBe(400);
  });
});

describe("a broadcast", () => {
  it("reaches every active user, a bounded page per call, and skips banned users", async () => {
    // More users than one call reaches, inserted straight into D1 (no password hashing needed).
    const statements = Array.from({ length: BROADCAST_USERS_PER_CALL + 20 }, (_, i) =>
      env.DB.prepare("INSERT INTO users (id, username, password_hash) VALUES (?, ?, 'x')").bind(
        `BULK${String(i).padStart(4, "0")}`,
        `bulk-user-${i}`,
      ),
    );
    await env.DB.batch(statements);
    const [reader, banned] = [await newUser("reader"), await newUser("banned")];
    await adminOk(`/users/${banned.userId}/ban`, { body: {} });

    type Page = { sent: number; failed: string[]; next: string | null };
    const pages: Page[] = [];
    let after: string | undefined;
    do {
      const page = await adminOk<Page>("/system/broadcast", { body: { text: "hello, everyone", after } });
      pages.push(page);
      after = page.next ?? undefined;
    } while (after !== undefined);

    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages[0]!.sent).toBe(BROADCAST_USERS_PER_CALL);
    expect(pages.every((p) => p.sent <= BROADCAST_USERS_PER_CALL && p.failed.length === 0)).toBe(true);
    expect(pages.reduce((sum, p) => sum + p.sent, 0)).toBeGreaterThanOrEqual(BROADCAST_USERS_PER_CALL + 21);
    expect(await syncedSystemNotices(reader)).toEqual([{ type: "system_message", text: "hello, everyone" }]);
    // The banned user got nothing: checked in their conversation object, as they cannot connect.
    const bannedSystem = env.CONVERSATION_OBJECT.getByName(systemConversationId(banned.userId));
    const held = await runInDurableObject(bannedSystem, (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one(),
    );
    expect(held.n).toBe(0);
  });
});

describe("the stats", () => {
  type Stats = {
    users: number;
    bannedUsers: number;
    messagesToday: number;
    liveSockets: number;
    dayStart: number;
  };

  it("count users, banned users and today's messages", async () => {
    const before = await adminOk<Stats>("/stats");
    const [a, b] = [await newUser("counted"), await newUser("counted")];
    await adminOk(`/users/${b.userId}/ban`, { body: {} });
    const socket = await TestSocket.connect(a);
    await socket.sendText(a.userId, b.userId, "one");
    await socket.sendText(a.userId, b.userId, "two");
    socket.close();
    while (
      await runDurableObjectAlarm(env.CONVERSATION_OBJECT.getByName(singleConversationId(a.userId, b.userId)))
    );

    const after = await adminOk<Stats>("/stats");
    expect(after.users - before.users).toBeGreaterThanOrEqual(2);
    expect(after.bannedUsers - before.bannedUsers).toBeGreaterThanOrEqual(1);
    expect(after.messagesToday - before.messagesToday).toBeGreaterThanOrEqual(2);
    expect(after.dayStart % 86_400_000).toBe(0);
  });

  it("count live sockets: authenticated ones, as they open and close, not those that never authenticate", async () => {
    /** The count once it settles at `expected` (reports reach the gauge just after the socket event). */
    async function liveSocketsReach(expected: number): Promise<number> {
      let seen = -1;
      for (let i = 0; i < 100 && seen !== expected; i++) {
        seen = (await adminOk<Stats>("/stats")).liveSockets;
        if (seen !== expected) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return seen;
    }
    const base = (await adminOk<Stats>("/stats")).liveSockets;
    const [a, b] = [await newUser("live"), await newUser("live")];
    const phone = await TestSocket.connect(a, "iOS");
    const desktop = await TestSocket.connect(a, "macOS");
    const other = await TestSocket.connect(b, "Android");
    const unauthenticated = await TestSocket.open(b.token, "&platform=Web");
    expect(await liveSocketsReach(base + 3)).toBe(base + 3);
    desktop.close();
    expect(await liveSocketsReach(base + 2)).toBe(base + 2);
    phone.close();
    other.close();
    unauthenticated.close();
    expect(await liveSocketsReach(base)).toBe(base);
  });

  it("are refreshed by a socket's heartbeat once GAUGE_REFRESH_MS has passed, not by every beat", async () => {
    const user = await newUser("beating");
    const socket = await TestSocket.connect(user);
    const beat = () =>
      socket.request(
        Cmd.CMD_HEARTBEAT_REQ,
        pb.HeartbeatRequest,
        {},
        Cmd.CMD_HEARTBEAT_RSP,
        pb.HeartbeatResponse,
      );
    const object = env.USER_OBJECT.getByName(user.userId);
    const reportedAt = () =>
      runInDurableObject(object, (_instance, state) => {
        const [ws] = state.getWebSockets();
        return (ws!.deserializeAttachment() as { gaugeAt?: number }).gaugeAt;
      });
    const atAuth = await reportedAt();
    expect(atAuth).toBeGreaterThan(0); // authentication reported
    await beat();
    expect(await reportedAt()).toBe(atAuth); // within GAUGE_REFRESH_MS: not again
    const longAgo = Date.now() - GAUGE_REFRESH_MS - 1;
    await runInDurableObject(object, (_instance, state) => {
      const [ws] = state.getWebSockets();
      saveSocketState(ws!, { ...socketState(ws!), gaugeAt: longAgo });
    });
    await beat();
    expect(await reportedAt()).toBeGreaterThan(longAgo); // reported again
    socket.close();
  });

  it("stop counting the sockets a ban closes", async () => {
    const base = (await adminOk<Stats>("/stats")).liveSockets;
    const user = await newUser("banned-live");
    const socket = await TestSocket.connect(user);
    await expect.poll(async () => (await adminOk<Stats>("/stats")).liveSockets).toBe(base + 1);
    await adminOk(`/users/${user.userId}/ban`, { body: {} });
    await expect.poll(async () => (await adminOk<Stats>("/stats")).liveSockets).toBe(base);
    socket.close();
  });
});
