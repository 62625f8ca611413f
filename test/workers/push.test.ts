// Push's HTTP side and rules inside workerd: a device registers its token for its login session (one
// per session, at most MAX_DEVICES_PER_USER per user, only for a provider the server has), lists it
// without the token, loses it on logout; bad tokens, app ids, settings and time zones get a clear
// 400; do-not-disturb windows follow the user's time zone; half-configured providers stop the server.
import {
  createExecutionContext,
  createMessageBatch,
  env,
  evictDurableObject,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkSettings } from "../../src/config/settings";
import { pb } from "../../src/protocol/codec";
import { CLAIM_TIMEOUT_MS, MAX_DEVICES_PER_USER } from "../../src/push/limits";
import { inQuietHours, minuteOfDay } from "../../src/push/quiet-hours";
import { retryDelaySeconds } from "../../src/push/consumer";
import { PUSH_JOB_VERSION, pushJobId, type PushJob } from "../../src/push/job";
import { QUEUE_BATCH_BYTES, queueChunks, REVOKED_PREVIEW } from "../../src/push/scheduler";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { consumeQueue as handleQueue } from "../../src/worker/queues";
import { api, newUser, refusal, type TestUser } from "./helpers/http";
import { loggedEvents } from "./helpers/logs";
import { revoke } from "./helpers/protocol";
import { connectRich, sendRich } from "./helpers/rich-wire";
import { TestSocket } from "./helpers/socket";

interface DeviceJson {
  deviceID: string;
  provider: string;
  appID: string;
  tokenSuffix: string;
  current: boolean;
}

const register = (user: { token: string }, body: Record<string, unknown>) =>
  api<{ deviceID: string }>("/api/push/devices", { token: user.token, body });

const devices = async (user: { token: string }) =>
  (await api<DeviceJson[]>("/api/push/devices", { token: user.token })).body.data ?? [];

async function anotherLogin(user: TestUser): Promise<{ token: string }> {
  const login = await api<{ token: string }>("/api/auth/login", {
    body: { username: user.username, password: user.password, platform: "Android" },
  });
  return { token: login.body.data?.token ?? "" };
}

describe("push devices over HTTP", () => {
  it("registers one token per login session, lists it without the token, and logout removes it", async () => {
    const user = await newUser("pushdev");
    const first = await register(user, {
      provider: "webhook",
      token: "team-token-1",
      appID: "com.example.app",
    });
    expect(first.body.code).toBe(0);
    expect(first.body.data?.deviceID).toMatch(/^[0-9A-Z]{26}$/);
    // A new token from the same session replaces the old one.
    expect(
      (await register(user, { provider: "webhook", token: "team-token-2", appID: "com.example.app" })).body
        .code,
    ).toBe(0);
    const listed = await devices(user);
    expect(listed).toEqual([
      expect.objectContaining({
        provider: "webhook",
        appID: "com.example.app",
        tokenSuffix: "-token-2",
        current: true,
      }),
    ]);
    expect(JSON.stringify(listed)).not.toContain("team-token-2");

    const other = await anotherLogin(user);
    expect(
      (await register(other, { provider: "webhook", token: "team-token-3", appID: "com.example.app" })).body
        .code,
    ).toBe(0);
    expect(await devices(user)).toHaveLength(2);
    expect((await api("/api/auth/logout", { token: other.token, body: {} })).body.code).toBe(0);
    expect((await devices(user)).map((d) => d.tokenSuffix)).toEqual(["-token-2"]);
    expect((await api("/api/push/devices/unregister", { token: user.token, body: {} })).body.code).toBe(0);
    expect(await devices(user)).toEqual([]);
  });

  it(`keeps at most ${MAX_DEVICES_PER_USER} devices a user, the least recently registered going first`, async () => {
    const user = await newUser("pushmany");
    for (let i = 0; i <= MAX_DEVICES_PER_USER; i++) {
      const session = i === 0 ? user : await anotherLogin(user);
      expect(
        (await register(session, { provider: "webhook", token: `device-${i}`, appID: "app" })).body.code,
      ).toBe(0);
    }
    const kept = (await devices(user)).map((d) => d.tokenSuffix).sort();
    expect(kept).toHaveLength(MAX_DEVICES_PER_USER);
    expect(kept).not.toContain("device-0");
  });

  it("refuses an unconfigured provider, a malformed token or app id, with a 400 naming the field", async () => {
    const user = await newUser("pushbad");
    const refused = async (body: Record<string, unknown>) => {
      const answer = await register(user, body);
      expect(refusal(answer)).toBe(400);
      return answer.body.message;
    };
    // APNs is not configured in this test server.
    expect(await refused({ provider: "apns", token: "ab".repeat(32), appID: "com.example.app" })).toMatch(
      /^provider: apns push is not configured/,
    );
    expect(await refused({ provider: "carrier-pigeon", token: "x", appID: "a" })).toMatch(/^provider:/);
    expect(await refused({ provider: "webhook", token: "has spaces", appID: "a" })).toMatch(/^token:/);
    expect(await refused({ provider: "webhook", token: "t".repeat(5000), appID: "a" })).toMatch(/^token:/);
    expect(await refused({ provider: "webhook", token: "ok", appID: "bad app id" })).toMatch(/^appID:/);
    expect(await refused({ provider: "webhook", token: "ok", appID: "a", sandbox: true })).toMatch(
      /^sandbox:/,
    );
    expect(await devices(user)).toEqual([]);
    expect(
      (await api("/api/push/devices", { body: { provider: "webhook", token: "t", appID: "a" } })).status,
    ).toBe(401);
  });
});

describe("push settings over HTTP", () => {
  it("keeps previews and a do-not-disturb window, and refuses bad times and zones", async () => {
    const user = await newUser("pushset");
    expect((await api("/api/push/settings", { token: user.token })).body.data).toEqual({
      previews: true,
      quietHours: null,
    });
    const quietHours = { start: "22:30", end: "07:00", timeZone: "Asia/Shanghai" };
    const saved = await api("/api/push/settings", {
      token: user.token,
      body: { previews: false, quietHours },
    });
    expect(saved.body.data).toEqual({ previews: false, quietHours });
    // A partial update keeps what it does not name.
    const previewsOnly = await api("/api/push/settings", { token: user.token, body: { previews: true } });
    expect(previewsOnly.body.data).toEqual({ previews: true, quietHours });
    const cleared = await api("/api/push/settings", { token: user.token, body: { quietHours: null } });
    expect(cleared.body.data).toEqual({ previews: true, quietHours: null });

    const bad = async (q: Record<string, unknown>) => {
      const answer = await api("/api/push/settings", { token: user.token, body: { quietHours: q } });
      expect(refusal(answer)).toBe(400);
      return answer.body.message;
    };
    expect(await bad({ ...quietHours, start: "24:00" })).toMatch(/^quietHours\.start:/);
    expect(await bad({ ...quietHours, end: "7" })).toMatch(/^quietHours\.end:/);
    expect(await bad({ ...quietHours, timeZone: "Mars/Olympus" })).toMatch(/^quietHours\.timeZone:/);
    expect(await bad({ ...quietHours, end: "22:30" })).toMatch(/^quietHours\.end: start and end must differ/);
  });

  it("hides one conversation's previews, only for a conversation the user has", async () => {
    const user = await newUser("pushconv");
    const answer = await api(`/api/push/conversations/single_${user.userId}_nobody/preview`, {
      token: user.token,
      body: { hidden: true },
    });
    expect(refusal(answer)).toBe(404);
    const malformed = await api("/api/push/conversations/nonsense/preview", {
      token: user.token,
      body: { hidden: true },
    });
    expect(refusal(malformed)).toBe(400);
  });
});

describe("push rules", () => {
  it("a do-not-disturb window follows the user's time zone and may cross midnight", () => {
    const quiet = {
      startMinute: minuteOfDay("22:00") ?? 0,
      endMinute: minuteOfDay("07:00") ?? 0,
      timeZone: "Asia/Shanghai",
    };
    // 15:00 UTC is 23:00 in Shanghai (UTC+8): quiet; 01:00 UTC is 09:00 there: not.
    expect(inQuietHours(quiet, Date.UTC(2026, 0, 10, 15, 0))).toBe(true);
    expect(inQuietHours(quiet, Date.UTC(2026, 0, 10, 22, 59))).toBe(true); // 06:59 local
    expect(inQuietHours(quiet, Date.UTC(2026, 0, 10, 23, 0))).toBe(false); // 07:00 local, end exclusive
    expect(inQuietHours(quiet, Date.UTC(2026, 0, 10, 1, 0))).toBe(false);
    // Daylight saving time: 22:30 UTC is 23:30 in Paris in January and 00:30 in July.
    const paris = {
      startMinute: minuteOfDay("23:00") ?? 0,
      endMinute: minuteOfDay("23:59") ?? 0,
      timeZone: "Europe/Paris",
    };
    expect(inQuietHours(paris, Date.UTC(2026, 0, 10, 22, 30))).toBe(true);
    expect(inQuietHours(paris, Date.UTC(2026, 6, 10, 22, 30))).toBe(false);
    expect(inQuietHours(null, Date.now())).toBe(false);
  });

  it("retries back off exponentially from PUSH_RETRY_BASE_SECONDS, bounded", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(10, attempt))).toEqual([10, 20, 40, 80]);
    expect(retryDelaySeconds(10, 30)).toBe(900);
  });

  it("refuses half-configured providers and malformed credentials, never showing a secret", () => {
    const base = { JWT_SECRET: "s".repeat(32) };
    const problems = (vars: Record<string, string>) => {
      const check = checkSettings({ ...base, ...vars });
      return check.ok ? [] : check.problems;
    };
    expect(
      problems({ APNS_KEY_ID: "ABC123DEFG" })
        .map((p) => p.variable)
        .sort(),
    ).toEqual(["APNS_PRIVATE_KEY", "APNS_TEAM_ID"]);
    const badKey = problems({
      APNS_KEY_ID: "ABC123DEFG",
      APNS_TEAM_ID: "TEAM123456",
      APNS_PRIVATE_KEY: "not a key",
    });
    expect(badKey).toEqual([{ variable: "APNS_PRIVATE_KEY", expected: expect.stringMatching(/PEM/) }]);
    const badAccount = problems({ FCM_SERVICE_ACCOUNT: '{"project_id":"p"}' });
    expect(badAccount).toEqual([
      { variable: "FCM_SERVICE_ACCOUNT", expected: expect.stringMatching(/service account/) },
    ]);
    expect(problems({ PUSH_WEBHOOK_URL: "https://push.example.com" }).map((p) => p.variable)).toEqual([
      "PUSH_WEBHOOK_SECRET",
    ]);
    expect(problems({ PUSH_DEBOUNCE_MS: "-1" }).map((p) => p.variable)).toEqual(["PUSH_DEBOUNCE_MS"]);
  });
});

const jobFor = (userId: string): PushJob => ({
  v: PUSH_JOB_VERSION,
  id: pushJobId(userId, `single_${userId}_peer`, 7),
  userId,
  conversationId: `single_${userId}_peer`,
  conversationType: 1,
  senderId: "peer",
  seq: 7,
  messageType: 1,
  count: 1,
  badge: 1,
  preview: "hello",
  showPreview: true,
  createdAt: Date.now(),
});

describe("the queue handler", () => {
  async function run(queue: string, bodies: unknown[], attempts = 1) {
    const batch = createMessageBatch(
      queue,
      bodies.map((body, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts, body })),
    );
    const ctx = createExecutionContext();
    await handleQueue(batch, env);
    return getQueueResult(batch, ctx);
  }

  it("retries a job whose receiver cannot be reached", async () => {
    const user = await newUser("pushq");
    expect(
      (await register(user, { provider: "webhook", token: "unreachable", appID: "app" })).body.code,
    ).toBe(0);
    // The test server's PUSH_WEBHOOK_URL is a closed port on loopback.
    const result = await run("edge-im-push", [jobFor(user.userId)]);
    // getQueueResult does not report a retry's delay (the plugin keeps only the id); the backoff's
    // timing is measured end to end (test/node/push-e2e.test.ts).
    expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: "m0" })]);
    expect(result.explicitAcks).toEqual([]);
  });

  it("acks a job with no device to reach, and a body that is not a job", async () => {
    const user = await newUser("pushnone");
    const result = await run("edge-im-push", [jobFor(user.userId), { v: 99, id: "x" }]);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1"]);
    expect(result.retryMessages).toEqual([]);
  });

  /** The webhook receiver (PUSH_WEBHOOK_URL) stood in for: it takes every push, slowly. */
  function standInReceiver() {
    const real = globalThis.fetch;
    return vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.startsWith("http://127.0.0.1:9/")) return real(input, init);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return new Response("ok");
    });
  }
  const pushesTo = (spy: ReturnType<typeof standInReceiver>) =>
    spy.mock.calls.filter(([input]) =>
      (input instanceof Request ? input.url : String(input)).startsWith("http://127.0.0.1:9/"),
    ).length;

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("sends once when one job comes twice in a batch, or to two consumers at once", async () => {
    const user = await newUser("pushdup");
    expect((await register(user, { provider: "webhook", token: "dup-phone", appID: "app" })).body.code).toBe(
      0,
    );
    const receiver = standInReceiver();
    const job = jobFor(user.userId);
    const twice = await run("edge-im-push", [job, job]);
    expect(twice.explicitAcks.sort()).toEqual(["m0", "m1"]);
    expect(pushesTo(receiver)).toBe(1);

    // Two copies handled at the same time (a duplicate in another batch, a redelivery): one sends,
    // the other finds the device claimed and looks again later.
    const other = { ...job, id: pushJobId(user.userId, job.conversationId, 8), seq: 8 };
    const [a, b] = await Promise.all([run("edge-im-push", [other]), run("edge-im-push", [other])]);
    expect(pushesTo(receiver)).toBe(2);
    expect([...a.explicitAcks, ...b.explicitAcks]).toEqual(["m0"]);
    expect([...a.retryMessages, ...b.retryMessages]).toEqual([expect.objectContaining({ msgId: "m0" })]);
    // Its retry finds the device reached: acked, nothing sent.
    const retried = await run("edge-im-push", [other], 2);
    expect(retried.explicitAcks).toEqual(["m0"]);
    expect(pushesTo(receiver)).toBe(2);

    // A claim younger than CLAIM_TIMEOUT_MS holds; an older one (its consumer died mid-send) is taken over.
    const [device] = await devices(user);
    const claimed = (seq: number, age: number) =>
      env.DB.prepare(
        "INSERT INTO push_deliveries (job_id, device_id, sent_at, claimed_at) VALUES (?, ?, ?, ?)",
      )
        .bind(
          pushJobId(user.userId, job.conversationId, seq),
          device!.deviceID,
          Date.now() - age,
          Date.now() - age,
        )
        .run();
    await claimed(9, 1_000);
    await claimed(10, CLAIM_TIMEOUT_MS + 1_000);
    const held = await run("edge-im-push", [
      { ...job, id: pushJobId(user.userId, job.conversationId, 9), seq: 9 },
    ]);
    expect(held.retryMessages).toEqual([expect.objectContaining({ msgId: "m0" })]);
    expect(pushesTo(receiver)).toBe(2);
    const stale = await run("edge-im-push", [
      { ...job, id: pushJobId(user.userId, job.conversationId, 10), seq: 10 },
    ]);
    expect(stale.explicitAcks).toEqual(["m0"]);
    expect(pushesTo(receiver)).toBe(3);
  });

  it("asks the user's object before sending a job again: skipped once read, sent with today's badge", async () => {
    const [alice, bob] = [await newUser("pushsta"), await newUser("pushstb")];
    const phone = await TestSocket.connect(alice);
    // Sent before Bob had a device: no notification pending of its own.
    const first = await phone.sendText(alice.userId, bob.userId, "one");
    const second = await phone.sendText(alice.userId, bob.userId, "two");
    phone.close();
    expect((await register(bob, { provider: "webhook", token: "bob-stale", appID: "app" })).body.code).toBe(
      0,
    );
    const conversationId = singleConversationId(alice.userId, bob.userId);
    // Two jobs the object made a minute ago and still waits to hear about, with an old badge.
    const made = (seq: number): PushJob => ({
      ...jobFor(bob.userId),
      id: pushJobId(bob.userId, conversationId, seq),
      conversationId,
      senderId: alice.userId,
      seq,
      badge: 99,
      createdAt: Date.now() - 60_000,
    });
    await runInDurableObject(env.USER_OBJECT.getByName(bob.userId), (_instance, state) => {
      for (const job of [made(first.seq!), made(second.seq!)])
        state.storage.sql.exec(
          "INSERT INTO push_outbox (job_id, job, created_at, enqueued_at, enqueues) VALUES (?, ?, ?, ?, 1)",
          job.id,
          JSON.stringify(job),
          job.createdAt,
          job.createdAt,
        );
    });
    const receiver = standInReceiver();
    const retried = await run("edge-im-push", [made(second.seq!)], 2);
    expect(retried.explicitAcks).toEqual(["m0"]);
    expect(pushesTo(receiver)).toBe(1);
    const [, init] = receiver.mock.calls.find(([input]) => String(input).startsWith("http://127.0.0.1:9/"))!;
    expect(JSON.parse(String(init?.body))).toMatchObject({ notification: { badge: 2, count: 2 } });

    // Read on another device since: the redelivered job (first try, an old job) sends nothing.
    expect(
      (await api(`/api/conversations/${conversationId}/read`, { token: bob.token, body: {} })).body.code,
    ).toBe(0);
    const redelivered = await run("edge-im-push", [made(first.seq!)]);
    expect(redelivered.explicitAcks).toEqual(["m0"]);
    expect(pushesTo(receiver)).toBe(1);
  });

  it("acks what reaches the dead-letter queue, and leaves a batch of an unknown queue to retry", async () => {
    const user = await newUser("pushdlq");
    const dead = await run("edge-im-push-dlq", [jobFor(user.userId)], 5);
    expect(dead.explicitAcks).toEqual(["m0"]);
    const unknown = await run("someone-elses-queue", [jobFor(user.userId)]);
    expect(unknown.retryBatch.retry).toBe(true);
  });
});

describe("the push scheduler in the user's object", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const pending = (userId: string) =>
    runInDurableObject(env.USER_OBJECT.getByName(userId), (_instance, state) =>
      state.storage.sql
        .exec<{ seq: number; preview: string | null }>("SELECT seq, preview FROM push_pending")
        .toArray(),
    );
  const outboxJobs = (userId: string) =>
    runInDurableObject(env.USER_OBJECT.getByName(userId), (_instance, state) =>
      state.storage.sql
        .exec<{ job: string }>("SELECT job FROM push_outbox")
        .toArray()
        .map((row) => JSON.parse(row.job) as PushJob),
    );
  /** The pending notifications are due now, and the alarm runs. */
  async function dueNow(userId: string): Promise<void> {
    await runInDurableObject(env.USER_OBJECT.getByName(userId), (_instance, state) => {
      state.storage.sql.exec("UPDATE push_pending SET due_at = 0");
    });
    await runDurableObjectAlarm(env.USER_OBJECT.getByName(userId));
  }

  it("never shows a message revoked before its notification went out, pending or in the outbox", async () => {
    const [alice, bob] = [await newUser("pushrva"), await newUser("pushrvb")];
    expect((await register(bob, { provider: "webhook", token: "bob-phone", appID: "app" })).body.code).toBe(
      0,
    );
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const phone = await TestSocket.connect(alice);
    // Revoked within the debounce: the pending notification loses its text.
    const first = await phone.sendText(alice.userId, bob.userId, "the secret plan");
    expect(await pending(bob.userId)).toEqual([{ seq: first.seq, preview: "the secret plan" }]);
    await revoke(phone, conversationId, first.serverMsgId!);
    expect(await pending(bob.userId)).toEqual([{ seq: first.seq, preview: REVOKED_PREVIEW }]);
    await dueNow(bob.userId);
    const [job] = await outboxJobs(bob.userId);
    expect(job).toMatchObject({ seq: first.seq, preview: REVOKED_PREVIEW });

    // Revoked once the job is made but before the consumer confirmed it: a redelivery carries no text.
    const second = await phone.sendText(alice.userId, bob.userId, "the other secret");
    await dueNow(bob.userId);
    expect((await outboxJobs(bob.userId)).find((j) => j.seq === second.seq)?.preview).toBe(
      "the other secret",
    );
    await revoke(phone, conversationId, second.serverMsgId!);
    const jobs = await outboxJobs(bob.userId);
    expect(jobs.find((j) => j.seq === second.seq)?.preview).toBe(REVOKED_PREVIEW);
    expect(JSON.stringify(jobs)).not.toContain("secret");
    phone.close();
  });

  it("arms the alarm on the next wake when a crash came between a pending notification and its alarm", async () => {
    const [alice, bob] = [await newUser("pushcra"), await newUser("pushcrb")];
    expect((await register(bob, { provider: "webhook", token: "bob-crash", appID: "app" })).body.code).toBe(
      0,
    );
    const phone = await TestSocket.connect(alice);
    await phone.sendText(alice.userId, bob.userId, "are you there?");
    phone.close();
    const stub = env.USER_OBJECT.getByName(bob.userId);
    // The row was written, the process died before setAlarm.
    await runInDurableObject(stub, async (_instance, state) => {
      expect(state.storage.sql.exec("SELECT 1 FROM push_pending").toArray()).toHaveLength(1);
      await state.storage.deleteAlarm();
    });
    await evictDurableObject(stub);
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
  });

  it("puts more than 100 due jobs on the queue in chunks within Queues' bounds", async () => {
    expect(queueChunks([...Array(250).keys()], () => 10).map((c) => c.length)).toEqual([100, 100, 50]);
    const big = Math.floor(QUEUE_BATCH_BYTES / 3);
    expect(queueChunks([1, 2, 3, 4, 5], () => big).map((c) => c.length)).toEqual([3, 2]);
    expect(queueChunks([1, 2], () => QUEUE_BATCH_BYTES * 2)).toEqual([[1], [2]]);

    // 101 jobs nobody confirmed, all due for redelivery at once (no device: the consumer acks them).
    const user = await newUser("pushmany");
    const stub = env.USER_OBJECT.getByName(user.userId);
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.setAlarm(Date.now());
      for (let seq = 1; seq <= 101; seq++) {
        const job = {
          ...jobFor(user.userId),
          id: pushJobId(user.userId, `single_${user.userId}_peer`, seq),
          seq,
        };
        state.storage.sql.exec(
          "INSERT INTO push_outbox (job_id, job, created_at, enqueued_at, enqueues) VALUES (?, ?, 0, 0, 1)",
          job.id,
          JSON.stringify(job),
        );
      }
    });
    const warn = vi.spyOn(console, "warn");
    const error = vi.spyOn(console, "error");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const events = loggedEvents(warn, error).map((line) => line.event);
    expect(events.filter((event) => event === "push_redelivered")).toHaveLength(101);
    expect(events).not.toContain("push_enqueue_failed");
    // The consumer takes them all (no device: each acked and confirmed), so the outbox empties.
    await expect
      .poll(async () => (await outboxJobs(user.userId)).length, { timeout: 20_000, interval: 200 })
      .toBe(0);
  });

  it("writes a new job to the outbox once: inserted as queued once, not inserted then updated", async () => {
    const [alice, bob] = [await newUser("pushwra"), await newUser("pushwrb")];
    expect((await register(bob, { provider: "webhook", token: "bob-writes", appID: "app" })).body.code).toBe(
      0,
    );
    const phone = await TestSocket.connect(alice);
    await phone.sendText(alice.userId, bob.userId, "count my writes");
    phone.close();
    const stub = env.USER_OBJECT.getByName(bob.userId);
    const writes = await runInDurableObject(stub, async (instance, state) => {
      state.storage.sql.exec("UPDATE push_pending SET due_at = 0");
      const exec = vi.spyOn(state.storage.sql, "exec");
      await instance.alarm();
      return exec.mock.calls
        .map(([query]) => query)
        .filter((query) => /push_outbox/.test(query) && !/^\s*SELECT/i.test(query));
    });
    expect(writes.filter((query) => /^\s*UPDATE push_outbox/.test(query))).toEqual([]);
    expect(
      await runInDurableObject(stub, (_instance, state) =>
        state.storage.sql.exec<{ enqueues: number }>("SELECT enqueues FROM push_outbox").toArray(),
      ),
    ).toEqual([{ enqueues: 1 }]);
  });

  it("lets a mention through a muted conversation, and nothing else of it", async () => {
    const [alice, bob] = [await newUser("pushmna"), await newUser("pushmnb")];
    expect((await register(bob, { provider: "webhook", token: "bob-mention", appID: "app" })).body.code).toBe(
      0,
    );
    const id = singleConversationId(alice.userId, bob.userId);
    const phone = await connectRich(alice);
    await phone.sendText(alice.userId, bob.userId, "before the mute");
    await dueNow(bob.userId);
    expect(
      (await api(`/api/conversations/${id}/mute`, { token: bob.token, body: { muted: true } })).body.code,
    ).toBe(0);
    await phone.sendText(alice.userId, bob.userId, "muted: no notification");
    expect(await pending(bob.userId)).toEqual([]);
    const mention = await sendRich(phone, id, alice.userId, "@bob look", { mentionUserIds: [bob.userId] });
    expect(mention.errorCode ?? 0).toBe(0);
    // A later plain message leaves the mention's notification as it is.
    await phone.sendText(alice.userId, bob.userId, "muted again");
    expect(await pending(bob.userId)).toEqual([{ seq: mention.seq, preview: "@bob look" }]);
    await dueNow(bob.userId);
    const jobs = await outboxJobs(bob.userId);
    expect(
      jobs
        .filter((j) => j.conversationId === id)
        .map((j) => j.seq)
        .sort((x, y) => x - y),
    ).toEqual([1, mention.seq]);
    phone.close();
  });

  it("lets no revoked mention through a muted conversation", async () => {
    const [alice, bob] = [await newUser("pushrma"), await newUser("pushrmb")];
    expect((await register(bob, { provider: "webhook", token: "bob-revoked", appID: "app" })).body.code).toBe(
      0,
    );
    const id = singleConversationId(alice.userId, bob.userId);
    const phone = await connectRich(alice);
    await phone.sendText(alice.userId, bob.userId, "before the mute");
    await dueNow(bob.userId);
    expect(
      (await api(`/api/conversations/${id}/mute`, { token: bob.token, body: { muted: true } })).body.code,
    ).toBe(0);
    const mention = await sendRich(phone, id, alice.userId, "@bob look", { mentionUserIds: [bob.userId] });
    expect(mention.errorCode ?? 0).toBe(0);
    await expect.poll(() => pending(bob.userId)).toEqual([{ seq: mention.seq, preview: "@bob look" }]);
    expect((await revoke(phone, id, mention.serverMsgId!)).errorCode ?? 0).toBe(0);
    await expect.poll(() => pending(bob.userId)).toEqual([{ seq: mention.seq, preview: REVOKED_PREVIEW }]);
    await dueNow(bob.userId);
    expect((await outboxJobs(bob.userId)).filter((j) => j.seq === mention.seq)).toEqual([]);
    expect(await pending(bob.userId)).toEqual([]);
    phone.close();
  });

  it("reads whether a conversation is muted only for a message that needs it", async () => {
    const [alice, bob] = [await newUser("pushlza"), await newUser("pushlzb")];
    expect((await register(bob, { provider: "webhook", token: "bob-lazy", appID: "app" })).body.code).toBe(0);
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const stub = env.USER_OBJECT.getByName(bob.userId);
    const message = (seq: number, senderId: string, mention: boolean) => ({
      seq,
      serverMsgId: `lazy-${seq}`,
      senderId,
      serverTime: Date.now(),
      originSession: "",
      info: pb.MessageInfo.encode({ serverMsgId: `lazy-${seq}`, seq, senderId, messageType: 1 }).finish(),
      ...(mention ? { mentionUserIds: [bob.userId] } : {}),
    });
    // Counts the object's reads of the mute from its inbox (a spy on its own SQLite), per delivery.
    const lookupsFor = (m: ReturnType<typeof message>) =>
      runInDurableObject(stub, async (instance, state) => {
        const exec = vi.spyOn(state.storage.sql, "exec");
        try {
          await instance.deliver({
            recipientId: bob.userId,
            conversationId,
            conversationType: 1,
            visibleFrom: 1,
            messages: [m],
          });
          return exec.mock.calls.filter(([query]) =>
            /^\s*SELECT\b.*\bmuted\b.*\bFROM inbox WHERE conversation_id/is.test(query),
          ).length;
        } finally {
          exec.mockRestore();
        }
      });
    expect(await lookupsFor(message(1, bob.userId, false))).toBe(0); // bob's own, from another device
    expect(await lookupsFor(message(2, alice.userId, true))).toBe(0); // a mention goes through a mute anyway
    expect(await lookupsFor(message(3, alice.userId, false))).toBe(1);
  });

  it("badges the unread total the app shows: no hidden, read, muted conversation in it", async () => {
    const bob = await newUser("pushbdg");
    expect((await register(bob, { provider: "webhook", token: "bob-badge", appID: "app" })).body.code).toBe(
      0,
    );
    const peers = [
      await newUser("pushbd1"),
      await newUser("pushbd2"),
      await newUser("pushbd3"),
      await newUser("pushbd4"),
    ];
    const conversation = (peer: TestUser) => singleConversationId(peer.userId, bob.userId);
    for (const [i, peer] of peers.entries()) {
      const phone = await TestSocket.connect(peer);
      for (let n = 0; n <= i; n++) await phone.sendText(peer.userId, bob.userId, `hello ${n}`);
      phone.close();
    }
    // 1 unread with peer 0, 2 hidden (deleted) with peer 1, 3 read with peer 2, 4 muted with peer 3.
    const [shown, hidden, read, muted] = peers.map(conversation) as [string, string, string, string];
    expect((await api(`/api/conversations/${hidden}/delete`, { token: bob.token, body: {} })).body.code).toBe(
      0,
    );
    expect((await api(`/api/conversations/${read}/read`, { token: bob.token, body: {} })).body.code).toBe(0);
    expect(
      (await api(`/api/conversations/${muted}/mute`, { token: bob.token, body: { muted: true } })).body.code,
    ).toBe(0);
    await dueNow(bob.userId);
    const jobs = await outboxJobs(bob.userId);
    expect(jobs.find((j) => j.conversationId === shown)).toMatchObject({ count: 1, badge: 1 });
    expect(jobs.map((j) => j.badge)).toEqual(jobs.map(() => 1));
  });
});
