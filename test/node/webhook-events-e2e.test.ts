// The after-the-fact webhook events (after_send, user_registered, group_changed) against a real
// `wrangler dev`, whose local Queues carry them, and a receiver on loopback that checks every call
// as a team's service would: the signature over the raw body, a fresh timestamp, the event headers.
// The receiver fails some events on purpose: one twice (it is retried, same id, and arrives), one
// always (after every retry it lands in the dead-letter queue, where the admin API finds it and
// sends it again), and one it never answers (the conversation goes on meanwhile).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueName } from "../../src/worker/queue-names.ts";
import { signedBy } from "./helpers/webhook-signature";
import { closeLoopback, listenOnLoopback } from "./helpers/loopback";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount, postJson } from "./helpers/http-accounts";
import { Err, NodeImClient } from "./helpers/im-client";
import { singleConversationId } from "../../src/protocol/conversation-id.ts";

const SECRET = randomBytes(24).toString("hex");
const ADMIN_TOKEN = randomBytes(24).toString("hex");
/** wrangler.toml's max_retries for the webhook Queue: an event is tried this many times plus one. */
const MAX_RETRIES = 10;

interface Delivery {
  event: string;
  eventID: string;
  attempt: number;
  data: Record<string, unknown>;
  /** Signature, timestamp and headers all as documented. */
  verified: boolean;
}
const deliveries: Delivery[] = [];
/** While true, "always fail" events fail; the replay test turns it off. */
let failingForGood = true;
/** Deliveries the receiver holds without an answer, and whether it still does so. */
const held: ServerResponse[] = [];
let holding = true;

const signed = (raw: string, header: string | undefined) => signedBy(SECRET, raw, header);

const text = (d: Delivery) =>
  typeof d.data.content === "string" ? Buffer.from(d.data.content, "base64").toString("utf8") : "";

const receiver: Server = createServer((request, response) => {
  let raw = "";
  request.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
  request.on("end", () => {
    const body = JSON.parse(raw) as { event: string; eventID: string; data: Record<string, unknown> };
    const delivery: Delivery = {
      event: body.event,
      eventID: body.eventID,
      attempt: Number(request.headers["x-edge-im-attempt"]),
      data: body.data,
      verified:
        signed(raw, request.headers["x-edge-im-signature"] as string | undefined) &&
        request.headers["x-edge-im-event"] === body.event &&
        request.headers["x-edge-im-event-id"] === body.eventID &&
        request.headers["content-type"] === "application/json",
    };
    deliveries.push(delivery);
    const said = text(delivery);
    if (said.includes("not answered") && holding) {
      held.push(response);
      return;
    }
    const fails =
      (said.includes("fail twice") && delivery.attempt <= 2) ||
      (said.includes("always fail") && failingForGood);
    response.writeHead(fails ? 500 : 200);
    response.end();
  });
});

let server: DevServer;
beforeAll(async () => {
  const origin = await listenOnLoopback(receiver);
  server = await startDevServer({
    vars: {
      ADMIN_TOKEN,
      WEBHOOK_URL: `${origin}/events`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_EVENTS: "after_send,user_registered,group_changed",
      // Retries at once, so that every retry up to the dead-letter queue fits in a test.
      WEBHOOK_RETRY_DELAY_SECONDS: "0",
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await closeLoopback(receiver);
});

async function until<T>(what: string, find: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function admin<T>(method: string, path: string): Promise<{ status: number; code: number; data: T }> {
  const response = await fetch(`${server.origin}/api/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const body = (await response.json()) as { code: number; data: T };
  return { status: response.status, code: body.code, data: body.data };
}

describe("webhook events through the Queue", () => {
  it("names its consumers as wrangler.toml does", () => {
    const toml = readFileSync(join(import.meta.dirname, "../../wrangler.toml"), "utf8");
    for (const name of Object.values(QueueName)) expect(toml).toContain(`queue = "${name}"`);
    expect(toml).toContain(`max_retries = ${MAX_RETRIES}`);
    expect(toml).toContain(`dead_letter_queue = "${QueueName.webhookDeadLetters}"`);
  });

  it("sends user_registered, after_send (people's messages only, signed, each once) and group_changed", async () => {
    const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => newAccount(server.origin, n)));
    for (const user of [alice!, bob!]) {
      const registered = await until("user_registered", () =>
        deliveries.find((d) => d.event === "user_registered" && d.data.userID === user.userId),
      );
      expect(registered.eventID).toBe(`user_registered:${user.userId}`);
    }

    const a = await NodeImClient.connect(server.wsOrigin, alice!.userId, alice!.token);
    const ab = singleConversationId(alice!.userId, bob!.userId);
    const sent = [];
    for (const words of ["first", "second", "third"])
      sent.push(await a.sendText(ab, alice!.userId, bob!.userId, words));
    for (const rsp of sent) expect(rsp.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const afterSend = await until("three after_send events", () => {
      const found = deliveries.filter((d) => d.event === "after_send" && d.data.conversationID === ab);
      return found.length >= 3 && found;
    });
    expect(afterSend.map(text).sort()).toEqual(["first", "second", "third"]);
    expect(afterSend.map((d) => d.data.seq).sort()).toEqual(sent.map((r) => Number(r.seq)).sort());
    for (const d of afterSend) {
      expect(d.eventID).toBe(`after_send:${String(d.data.serverMsgID)}`);
      expect(d.data.senderID).toBe(alice!.userId);
      expect(d.data.receiverID).toBe(bob!.userId);
    }

    // A friend request posts a notice to Bob's system conversation: the server's, not an event.
    expect(
      (await postJson(server.origin, "/api/friend/add", { userID: bob!.userId }, alice!.token)).status,
    ).toBe(200);

    const created = await postJson<{ groupID: string }>(
      server.origin,
      "/api/group/create",
      { groupName: "hooks", memberUserIDs: [] },
      alice!.token,
    );
    expect(created.body.code).toBe(0);
    const groupId = created.body.data.groupID;
    const invited = await postJson(
      server.origin,
      `/api/group/${groupId}/invite`,
      { userIDs: [bob!.userId] },
      alice!.token,
    );
    expect(invited.body.code).toBe(0);
    const groupEvents = await until("two group_changed events", () => {
      const found = deliveries.filter((d) => d.event === "group_changed" && d.data.groupID === groupId);
      return found.length >= 2 && found;
    });
    const byAction = new Map(groupEvents.map((d) => [d.data.action, d]));
    expect(byAction.get("create")?.data.actorID).toBe(alice!.userId);
    expect(byAction.get("create")?.data.memberCount).toBe(1);
    expect(byAction.get("invite")?.data.joined).toEqual([{ userID: bob!.userId, role: 0 }]);
    expect(byAction.get("invite")?.data.memberCount).toBe(2);

    // Settle, then look at everything: signed, once per event id, nothing from the system conversation.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const mine = deliveries.filter((d) =>
      [alice!.userId, bob!.userId, groupId].some((id) => JSON.stringify(d.data).includes(id)),
    );
    expect(mine.every((d) => d.verified)).toBe(true);
    const ids = mine.map((d) => d.eventID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(mine.some((d) => String(d.data.conversationID ?? "").startsWith("system_"))).toBe(false);
    a.close();
  });

  it("retries a failed event with the same id until the receiver takes it", async () => {
    const [alice, bob] = await Promise.all(["carl", "dora"].map((n) => newAccount(server.origin, n)));
    const a = await NodeImClient.connect(server.wsOrigin, alice!.userId, alice!.token);
    const rsp = await a.sendText(
      singleConversationId(alice!.userId, bob!.userId),
      alice!.userId,
      bob!.userId,
      "fail twice then ok",
    );
    const attempts = await until("the third attempt", () => {
      const found = deliveries.filter((d) => d.eventID === `after_send:${rsp.serverMsgId}`);
      return found.length >= 3 && found;
    });
    expect(attempts.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(attempts.every((d) => d.verified)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(deliveries.filter((d) => d.eventID === `after_send:${rsp.serverMsgId}`)).toHaveLength(3); // taken: no more
    a.close();
  });

  it("never holds the conversation on a receiver that does not answer", async () => {
    const [alice, bob] = await Promise.all(["emil", "fay"].map((n) => newAccount(server.origin, n)));
    const a = await NodeImClient.connect(server.wsOrigin, alice!.userId, alice!.token);
    const b = await NodeImClient.connect(server.wsOrigin, bob!.userId, bob!.token);
    const ab = singleConversationId(alice!.userId, bob!.userId);
    await a.sendText(ab, alice!.userId, bob!.userId, "not answered");
    await until("the hanging delivery", () => deliveries.some((d) => text(d) === "not answered"));
    // While the receiver holds that delivery, the conversation sends, pushes and reports on.
    const started = Date.now();
    for (const words of ["still", "going"]) {
      expect((await a.sendText(ab, alice!.userId, bob!.userId, words)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    }
    const pushed = (await b.pushed(3)).map((m) => Buffer.from(m.content!).toString());
    expect(pushed).toEqual(["not answered", "still", "going"]);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The receiver answers at last (so this event does not hold the local Queue for the next test).
    holding = false;
    for (const response of held.splice(0)) response.writeHead(200).end();
    a.close();
    b.close();
  });

  it("puts an event the receiver never takes in the dead-letter queue, where an admin sends it again", async () => {
    const [alice, bob] = await Promise.all(["gus", "hal"].map((n) => newAccount(server.origin, n)));
    const a = await NodeImClient.connect(server.wsOrigin, alice!.userId, alice!.token);
    const rsp = await a.sendText(
      singleConversationId(alice!.userId, bob!.userId),
      alice!.userId,
      bob!.userId,
      "always fail",
    );
    const eventID = `after_send:${rsp.serverMsgId}`;
    interface Page {
      deadLetters: { id: number; eventID: string; event: string; body: { data: { content?: string } } }[];
    }
    let found: Page["deadLetters"][number] | undefined;
    const deadline = Date.now() + 60_000;
    while (!found && Date.now() < deadline) {
      const page = await admin<Page>("GET", "/webhooks/dead-letters");
      expect(page.status).toBe(200);
      found = page.data.deadLetters.find((d) => d.eventID === eventID);
      if (!found) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(found?.event).toBe("after_send");
    expect(Buffer.from(found!.body.data.content!, "base64").toString()).toBe("always fail");
    const tries = deliveries.filter((d) => d.eventID === eventID);
    expect(tries.map((d) => d.attempt)).toEqual(Array.from({ length: MAX_RETRIES + 1 }, (_, i) => i + 1));

    // The receiver is fixed; the admin sends it again: it arrives, with its own id, and leaves the list.
    failingForGood = false;
    const replay = await admin<{ requeued: boolean }>("POST", `/webhooks/dead-letters/${found!.id}/replay`);
    expect(replay.status).toBe(200);
    await until(
      "the replayed event",
      () => deliveries.filter((d) => d.eventID === eventID).length > MAX_RETRIES + 1,
    );
    const after = await admin<Page>("GET", "/webhooks/dead-letters");
    expect(after.data.deadLetters.some((d) => d.eventID === eventID)).toBe(false);
    expect((await admin("POST", `/webhooks/dead-letters/${found!.id}/replay`)).code).toBe(404);
    expect((await admin("POST", "/webhooks/dead-letters/abc/replay")).code).toBe(400);
    a.close();
  }, 90_000);
});
