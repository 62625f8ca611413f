// The before-send webhook against a real `wrangler dev` and a receiver on loopback that checks each
// call as a team's service would: the signature over the raw body with the shared secret, a fresh
// timestamp, the event header. It lets a message through, refuses one (the sender's device is told
// why, nothing is stored), rewrites one (the peer gets the new text), and hangs on one: the send
// goes through once the timeout has passed (WEBHOOK_ON_TIMEOUT = allow), and the receiver hanging
// holds no other conversation.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedBy } from "./helpers/webhook-signature";
import { closeLoopback, listenOnLoopback } from "./helpers/loopback";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount } from "./helpers/http-accounts";
import { Err, NodeImClient } from "./helpers/im-client";
import { singleConversationId } from "../../src/protocol/conversation-id.ts";

const SECRET = randomBytes(24).toString("hex");
const TIMEOUT_MS = 800;

interface Seen {
  texts: string[];
  signatureOk: boolean;
}
const seen: Seen[] = [];

const verified = (raw: string, header: string | undefined) => signedBy(SECRET, raw, header);

const receiver: Server = createServer((request, response) => {
  let raw = "";
  request.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
  request.on("end", () => {
    const body = JSON.parse(raw) as { event: string; messages: { content: string }[] };
    const texts = body.messages.map((m) => Buffer.from(m.content, "base64").toString("utf8"));
    seen.push({
      texts,
      signatureOk:
        verified(raw, request.headers["x-edge-im-signature"] as string | undefined) &&
        request.headers["x-edge-im-event"] === "before_send" &&
        body.event === "before_send",
    });
    if (texts.some((t) => t.includes("hang"))) return; // never answers
    const decisions = texts.map((t) =>
      t.includes("forbidden")
        ? { action: "refuse", reason: "not allowed here" }
        : t.includes("darn")
          ? { action: "rewrite", content: Buffer.from(t.replace("darn", "****")).toString("base64") }
          : { action: "allow" },
    );
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ decisions }));
  });
});

let server: DevServer;
beforeAll(async () => {
  const origin = await listenOnLoopback(receiver);
  server = await startDevServer({
    vars: {
      WEBHOOK_URL: `${origin}/before-send`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BEFORE_SEND: "true",
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_ON_TIMEOUT: "allow",
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await closeLoopback(receiver);
});

describe("the before-send webhook", () => {
  it("lets through, refuses and rewrites, signed; a receiver that hangs holds only its own send, until the timeout", async () => {
    const [alice, bob, carol] = await Promise.all(
      ["alice", "bob", "carol"].map((n) => newAccount(server.origin, n)),
    );
    const a = await NodeImClient.connect(server.wsOrigin, alice!.userId, alice!.token);
    const b = await NodeImClient.connect(server.wsOrigin, bob!.userId, bob!.token);
    const c = await NodeImClient.connect(server.wsOrigin, carol!.userId, carol!.token);
    const ab = singleConversationId(alice!.userId, bob!.userId);

    const allowed = await a.sendText(ab, alice!.userId, bob!.userId, "hello bob");
    expect(allowed.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect((await b.pushed(1)).map((m) => Buffer.from(m.content!).toString())).toEqual(["hello bob"]);

    const refused = await a.sendText(ab, alice!.userId, bob!.userId, "something forbidden");
    expect(refused.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(refused.errorMsg).toBe("refused: not allowed here");
    expect(refused.seq ?? 0).toBe(0);

    const rewritten = await a.sendText(ab, alice!.userId, bob!.userId, "oh darn it");
    expect(rewritten.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(Number(rewritten.seq)).toBe(Number(allowed.seq) + 1); // the refused one took no seq
    expect((await b.pushed(1)).map((m) => Buffer.from(m.content!).toString())).toEqual(["oh **** it"]);

    // A resend of a stored message (its answer lost) gets the stored message, even when the hook
    // would now refuse it.
    const first = await a.sendText(ab, alice!.userId, bob!.userId, "said once", "resent-id");
    await b.pushed(1);
    const again = await a.sendText(ab, alice!.userId, bob!.userId, "now forbidden", "resent-id");
    expect(again.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(again.serverMsgId).toBe(first.serverMsgId);
    expect(Number(again.seq)).toBe(Number(first.seq));

    // A hanging receiver: Alice's send waits for the timeout, then goes through; meanwhile Carol's
    // send to Bob (another conversation, another object) is answered.
    const started = Date.now();
    const hanging = a.sendText(ab, alice!.userId, bob!.userId, "please hang");
    const other = await c.sendText(
      singleConversationId(carol!.userId, bob!.userId),
      carol!.userId,
      bob!.userId,
      "meanwhile",
    );
    expect(other.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const late = await hanging;
    expect(late.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);

    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(seen.every((s) => s.signatureOk)).toBe(true);
    expect(seen.flatMap((s) => s.texts)).toEqual(
      expect.arrayContaining([
        "hello bob",
        "something forbidden",
        "oh darn it",
        "now forbidden",
        "please hang",
        "meanwhile",
      ]),
    );
    for (const client of [a, b, c]) client.close();
  });
});
