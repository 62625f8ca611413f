// Offline push end to end: a real `wrangler dev` (its local PUSH_QUEUE and dead-letter queue, the
// Worker's queue() consumer) against stand-ins for APNs, FCM and a team's push webhook on loopback
// that check every request as the provider documents it (helpers/push-stand-ins.ts). A message to
// an offline user makes one push, to an online user none, in a muted conversation none; 50 in a
// burst make a collapsed notification, not 50; a provider error is retried; a dead token is
// removed; a receiver that always fails ends in the dead-letter queue; and a crash of the runtime
// between the enqueue and the send ends in one push, not none and not two.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupMembers, processTree, survivors } from "../chaos/processes";
import { freePort, startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount, postJson } from "./helpers/http-accounts";
import { Err, NodeImClient } from "./helpers/im-client";
import { BUNDLE_ID, FCM_PROJECT, PushStandIns, type Received } from "./helpers/push-stand-ins";
import { singleConversationId } from "../../src/protocol/conversation-id.ts";

const DEBOUNCE_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds or the time is up; returns whether it held. */
async function eventually(check: () => boolean, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

let tokenCount = 0;
function apnsToken(): string {
  return (Date.now().toString(16) + (tokenCount++).toString(16)).padEnd(64, "a");
}
function fcmToken(): string {
  return `fcm-${Date.now().toString(36)}-${tokenCount++}:${"A".repeat(120)}`;
}

interface Account {
  userId: string;
  token: string;
}

async function register(origin: string, who: Account, body: Record<string, unknown>): Promise<void> {
  const answer = await postJson<{ deviceID: string }>(origin, "/api/push/devices", body, who.token);
  expect(answer.body.message).toBe("success");
  expect(answer.body.code).toBe(0);
}

const standIns = new PushStandIns();
const serverVars = (redeliverSeconds: number) => ({
  ...standIns.vars(),
  PUSH_DEBOUNCE_MS: String(DEBOUNCE_MS),
  PUSH_RETRY_BASE_SECONDS: "1",
  PUSH_REDELIVER_SECONDS: String(redeliverSeconds),
  SEND_RATE_PER_SECOND: "1000",
  SEND_BURST: "1000",
  SOCKET_REQUESTS_PER_SECOND: "1000",
  SOCKET_REQUEST_BURST: "1000",
});

beforeAll(async () => {
  await standIns.start();
});
afterAll(async () => {
  await standIns.stop();
});

describe("offline push through the queue", () => {
  let server: DevServer;
  let alice: Account;
  let sender: NodeImClient;

  beforeAll(async () => {
    server = await startDevServer({ vars: serverVars(120) });
    alice = await newAccount(server.origin, "alice");
    sender = await NodeImClient.connect(server.wsOrigin, alice.userId, alice.token);
  });
  afterAll(async () => {
    sender?.close();
    await server?.stop();
  });

  async function send(to: Account, text: string) {
    const answer = await sender.sendText(
      singleConversationId(alice.userId, to.userId),
      alice.userId,
      to.userId,
      text,
    );
    expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    return answer;
  }

  it("a message to an offline user makes one APNs push: sender, text, badge, collapse id", async () => {
    const bob = await newAccount(server.origin, "bob");
    const token = apnsToken();
    await register(server.origin, bob, { provider: "apns", token, appID: BUNDLE_ID });
    await send(bob, "are you there?");
    expect(await eventually(() => standIns.delivered(token).length >= 1)).toBe(true);
    await sleep(DEBOUNCE_MS + 2_000); // nothing more follows
    const pushes = standIns.requests(token);
    expect(pushes).toHaveLength(1);
    const push = pushes[0] as Received;
    const aps = (push.body as { aps: { alert: { title: string; body: string }; badge: number } }).aps;
    expect(aps.alert.body).toBe("are you there?");
    expect(aps.alert.title).toMatch(/^alice/);
    expect(aps.badge).toBe(1);
    expect(push.headers["apns-collapse-id"]).toBe(singleConversationId(alice.userId, bob.userId));
    expect(standIns.violations).toEqual([]);
  });

  it("a message to a user with a live socket makes no push", async () => {
    const carol = await newAccount(server.origin, "carol");
    const token = apnsToken();
    await register(server.origin, carol, { provider: "apns", token, appID: BUNDLE_ID });
    const device = await NodeImClient.connect(server.wsOrigin, carol.userId, carol.token);
    await send(carol, "you are online");
    expect(await device.pushed(1)).toHaveLength(1);
    await sleep(DEBOUNCE_MS + 3_000);
    expect(standIns.requests(token)).toHaveLength(0);
    device.close();
  });

  it("a muted conversation makes no push", async () => {
    const dave = await newAccount(server.origin, "dave");
    const token = fcmToken();
    await register(server.origin, dave, { provider: "fcm", token, appID: FCM_PROJECT });
    await send(dave, "before the mute");
    expect(await eventually(() => standIns.delivered(token).length === 1)).toBe(true);
    const muted = await postJson(
      server.origin,
      `/api/conversations/${singleConversationId(alice.userId, dave.userId)}/mute`,
      { muted: true },
      dave.token,
    );
    expect(muted.body.code).toBe(0);
    await send(dave, "after the mute");
    await sleep(DEBOUNCE_MS + 3_000);
    expect(standIns.requests(token)).toHaveLength(1);
  });

  it("no push inside the user's do-not-disturb window, in their time zone", async () => {
    const judy = await newAccount(server.origin, "judy");
    const token = apnsToken();
    await register(server.origin, judy, { provider: "apns", token, appID: BUNDLE_ID });
    // A window around the present moment in Tokyo (UTC+9, no daylight saving time).
    const tokyo = (offsetMinutes: number) => {
      const at = new Date(Date.now() + offsetMinutes * 60_000 + 9 * 3_600_000);
      return `${String(at.getUTCHours()).padStart(2, "0")}:${String(at.getUTCMinutes()).padStart(2, "0")}`;
    };
    const quietHours = { start: tokyo(-60), end: tokyo(60), timeZone: "Asia/Tokyo" };
    const set = await postJson(server.origin, "/api/push/settings", { quietHours }, judy.token);
    expect(set.body.code).toBe(0);
    await send(judy, "shh");
    await sleep(DEBOUNCE_MS + 3_000);
    expect(standIns.requests(token)).toHaveLength(0);
    // Out of the window again, the next message is pushed, with the full badge.
    expect(
      (await postJson(server.origin, "/api/push/settings", { quietHours: null }, judy.token)).body.code,
    ).toBe(0);
    await send(judy, "morning");
    expect(await eventually(() => standIns.delivered(token).length === 1)).toBe(true);
    const aps = (standIns.delivered(token)[0]?.body as { aps: { badge: number; alert: { title: string } } })
      .aps;
    expect(aps.badge).toBe(2);
    expect(aps.alert.title).toMatch(/\(2\)$/);
  });

  it("hidden previews show neither sender nor text, for the user or one conversation", async () => {
    const kate = await newAccount(server.origin, "kate");
    const token = fcmToken();
    await register(server.origin, kate, { provider: "fcm", token, appID: FCM_PROJECT });
    type Message = { message: { notification: { title: string; body?: string } } };
    const notification = (i: number) =>
      ((standIns.delivered(token)[i] as Received).body as Message).message.notification;
    await send(kate, "secret plan");
    expect(await eventually(() => standIns.delivered(token).length === 1)).toBe(true);
    expect(notification(0).body).toBe("secret plan");
    const conversation = singleConversationId(alice.userId, kate.userId);
    const hidden = await postJson(
      server.origin,
      `/api/push/conversations/${conversation}/preview`,
      { hidden: true },
      kate.token,
    );
    expect(hidden.body.code).toBe(0);
    await send(kate, "more secrets");
    expect(await eventually(() => standIns.delivered(token).length === 2)).toBe(true);
    expect(notification(1)).toEqual({ title: "2 new messages" });
    // Shown again for the conversation, hidden for the user.
    await postJson(
      server.origin,
      `/api/push/conversations/${conversation}/preview`,
      { hidden: false },
      kate.token,
    );
    expect(
      (await postJson(server.origin, "/api/push/settings", { previews: false }, kate.token)).body.code,
    ).toBe(0);
    await send(kate, "the last secret");
    expect(await eventually(() => standIns.delivered(token).length === 3)).toBe(true);
    expect(notification(2)).toEqual({ title: "3 new messages" });
    expect(
      JSON.stringify(
        standIns
          .requests(token)
          .slice(1)
          .map((r) => r.body),
      ),
    ).not.toContain("secret");
  });

  it("50 messages in a burst make one collapsed notification with the count, not 50", async () => {
    const erin = await newAccount(server.origin, "erin");
    const token = fcmToken();
    await register(server.origin, erin, { provider: "fcm", token, appID: FCM_PROJECT });
    // One after another, each acked before the next: 50 deliveries to Erin's object, not one batch.
    for (let i = 0; i < 50; i++) await send(erin, `burst ${i}`);
    expect(await eventually(() => standIns.delivered(token).length >= 1)).toBe(true);
    await sleep(DEBOUNCE_MS + 3_000);
    const pushes = standIns.delivered(token);
    expect(pushes.length).toBeGreaterThanOrEqual(1);
    // One per PUSH_DEBOUNCE_MS at most while the burst lasts.
    expect(pushes.length).toBeLessThanOrEqual(3);
    type Message = { message: { data: { count: string }; android: { collapse_key: string } } };
    const last = (pushes[pushes.length - 1] as Received).body as Message;
    expect(last.message.data.count).toBe("50");
    expect(new Set(pushes.map((p) => (p.body as Message).message.android.collapse_key))).toEqual(
      new Set([singleConversationId(alice.userId, erin.userId)]),
    );
  });

  it("a provider error is retried with backoff, and the push then arrives once", async () => {
    const frank = await newAccount(server.origin, "frank");
    const token = apnsToken();
    standIns.behaviours.set(token, "flaky");
    await register(server.origin, frank, { provider: "apns", token, appID: BUNDLE_ID });
    await send(frank, "second time lucky");
    expect(await eventually(() => standIns.delivered(token).length === 1)).toBe(true);
    const [failed, delivered] = standIns.requests(token) as [Received, Received];
    expect(failed.status).toBe(503);
    expect(delivered.at - failed.at).toBeGreaterThanOrEqual(900); // PUSH_RETRY_BASE_SECONDS = 1
    await sleep(2_000);
    expect(standIns.requests(token)).toHaveLength(2);
  });

  it("a token the provider calls dead is removed", async () => {
    const gina = await newAccount(server.origin, "gina");
    const token = fcmToken();
    standIns.behaviours.set(token, "dead");
    await register(server.origin, gina, { provider: "fcm", token, appID: FCM_PROJECT });
    const listed = async () =>
      (
        (await (
          await fetch(`${server.origin}/api/push/devices`, {
            headers: { Authorization: `Bearer ${gina.token}` },
          })
        ).json()) as { data: { tokenSuffix: string }[] }
      ).data;
    expect(await listed()).toHaveLength(1);
    await send(gina, "anyone?");
    expect(await eventually(() => standIns.requests(token).length === 1)).toBe(true);
    const deadline = Date.now() + 10_000;
    while ((await listed()).length > 0 && Date.now() < deadline) await sleep(200);
    expect(await listed()).toEqual([]);
    // No device left: the next message makes no request at all.
    await send(gina, "still there?");
    await sleep(DEBOUNCE_MS + 3_000);
    expect(standIns.requests(token)).toHaveLength(1);
  });

  it("a receiver that always fails: retried max_retries times, then the dead-letter queue", async () => {
    const hank = await newAccount(server.origin, "hank");
    const token = `team-device-${Date.now()}`;
    standIns.behaviours.set(token, "fail");
    await register(server.origin, hank, { provider: "webhook", token, appID: "com.example.team" });
    await send(hank, "into the void");
    const deadLettered = () =>
      server
        .log()
        .split("\n")
        .some((line) => line.includes('"event":"push_dead_lettered"') && line.includes(hank.userId));
    // 1 try + 4 retries (wrangler.toml max_retries) 1, 2, 4 and 8 s apart.
    expect(await eventually(deadLettered, 60_000)).toBe(true);
    expect(standIns.requests(token)).toHaveLength(5);
    expect(standIns.delivered(token)).toHaveLength(0);
    expect(standIns.violations).toEqual([]);
  });
});

describe("a crash between the enqueue and the send", () => {
  const persistTo = mkdtempSync(join(tmpdir(), "im-push-crash-"));
  let server: DevServer | undefined;
  afterAll(async () => {
    standIns.holdTokenRequests = false;
    await server?.stop();
    rmSync(persistTo, { recursive: true, force: true });
  });

  it("pushes once, not zero and not twice", async () => {
    const port = await freePort();
    const vars = serverVars(5);
    server = await startDevServer({ port, persistTo, vars });
    const alice = await newAccount(server.origin, "alice");
    const ivy = await newAccount(server.origin, "ivy");
    const token = fcmToken();
    await register(server.origin, ivy, { provider: "fcm", token, appID: FCM_PROJECT });
    const a = await NodeImClient.connect(server.wsOrigin, alice.userId, alice.token);

    // The consumer's first step is the FCM access token: held unanswered, it catches the consumer
    // after the job was queued and before anything was sent.
    standIns.holdTokenRequests = true;
    const tokenRequestsBefore = standIns.tokenRequests.length;
    const answer = await a.sendText(
      singleConversationId(alice.userId, ivy.userId),
      alice.userId,
      ivy.userId,
      "survive this",
    );
    expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(await eventually(() => standIns.tokenRequests.length > tokenRequestsBefore)).toBe(true);
    a.close();

    const dev = server;
    const tree = processTree(dev.pid);
    expect(tree.some((p) => p.command === "workerd")).toBe(true);
    process.kill(-dev.pid, "SIGKILL");
    expect(await eventually(() => [...survivors(tree), ...groupMembers(dev.pid)].length === 0, 15_000)).toBe(
      true,
    );
    await Promise.race([dev.exited, sleep(5_000)]);
    expect(standIns.requests(token)).toHaveLength(0);

    standIns.holdTokenRequests = false;
    server = await startDevServer({ port, persistTo, vars });
    // The queue's copy died with the process; the user's object puts the job on the queue again.
    expect(await eventually(() => standIns.delivered(token).length >= 1, 60_000)).toBe(true);
    // Past another redelivery period: still one.
    await sleep(8_000);
    expect(standIns.requests(token)).toHaveLength(1);
    const body = (standIns.requests(token)[0] as Received).body as {
      message: { notification: { body: string } };
    };
    expect(body.message.notification.body).toBe("survive this");
    expect(standIns.violations).toEqual([]);
  });
});
