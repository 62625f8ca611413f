// Rich changes travel like messages (conversation/change-pump.ts): one call in flight per member,
// the changes made meanwhile together in the next, a failed call retried from the alarm; the inbox's
// last message never goes back to an older state; a user's changes are rate limited.
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { ChangeBatch, Delivery } from "../../src/objects/rpc";
import { TokenBucket } from "../../src/objects/user/token-bucket";
import { UserObject } from "../../src/objects/user/user-object";
import { CHANGE_BURST, CHANGES_PER_SECOND } from "../../src/objects/user/rich-request";
import { Cmd, Err, pb, type MessageInfo } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { createGroup, sendToGroup } from "./helpers/groups";
import { api, newUser, type TestUser } from "./helpers/http";
import { connectRich, nextUpdate, ok, react } from "./helpers/rich-wire";
import type { TestSocket } from "./helpers/socket";

type Push = (batch: ChangeBatch) => Promise<void>;
type Hook = (batch: ChangeBatch, real: Push) => Promise<void>;

const realPush = UserObject.prototype.pushMessageUpdates;
const hooks = new Map<string, Hook>();

/**
 * Routes a user's object's pushMessageUpdates through `hook`, which gets each batch and the real
 * method (on the same instance) and decides what the conversation sees. RPC reaches only methods
 * of the class, so the class's method asks for the hook of the object it runs on.
 */
function hookChanges(userId: string, hook: Hook): void {
  hooks.set(userId, hook);
  UserObject.prototype.pushMessageUpdates = async function (this: UserObject, batch: ChangeBatch) {
    const real: Push = (b) => realPush.call(this, b);
    const hooked = hooks.get(this["ctx"].id.name ?? "");
    return hooked ? hooked(batch, real) : real(batch);
  };
}

afterEach(() => {
  hooks.clear();
  UserObject.prototype.pushMessageUpdates = realPush;
});

async function inboxModSeq(userId: string, conversationId: string): Promise<number> {
  return runInDurableObject(
    env.USER_OBJECT.getByName(userId),
    (instance: UserObject) => instance["inbox"].entry(conversationId)?.modSeq ?? -1,
  );
}

async function latestContent(user: TestUser, conversationId: string): Promise<unknown> {
  const response = await api<{ conversations: { conversationID: string; latestMsg: string }[] }>(
    "/api/conversations?limit=100",
    { token: user.token },
  );
  const latest = response.body.data?.conversations.find(
    (c) => c.conversationID === conversationId,
  )?.latestMsg;
  return latest ? (JSON.parse(latest) as { content: unknown }).content : undefined;
}

const EMOJIS = ["👍", "🎉", "😂", "❤️", "🔥", "👀", "🙏", "✅", "💯", "🚀"];

describe("the change pump", () => {
  it("brings a burst of 50 reactions to every rich device, in order, in far fewer calls than changes", async () => {
    const users = [
      await newUser("po"),
      await newUser("p1"),
      await newUser("p2"),
      await newUser("p3"),
      await newUser("p4"),
    ];
    const [owner] = users as [TestUser];
    const group = await createGroup(owner, users.slice(1));
    const id = `group_${group.groupID}`;
    // Each member reacts from one device and watches from another.
    const reacting: TestSocket[] = [];
    const watching: TestSocket[] = [];
    for (const user of users) {
      reacting.push(await connectRich(user, "web"));
      watching.push(await connectRich(user, "macOS"));
    }
    const sent = await sendToGroup(reacting[0] as TestSocket, group.groupID, "react to me");
    const serverMsgId = sent.serverMsgId!;
    for (const s of [...reacting.slice(1), ...watching]) await s.pushedMessages(1);

    // Every member's object holds its first call until all 50 changes are made: what a busy group
    // looks like, where changes come faster than a call returns.
    // (A flag, not a promise: a promise resolved from the test would run the object's rest in the
    // test's context.)
    let released = false;
    const calls = new Map<string, number[]>();
    for (const user of users)
      hookChanges(user.userId, async (batch, real) => {
        calls.set(user.userId, [...(calls.get(user.userId) ?? []), batch.updates.length]);
        while (!released) await new Promise((resolve) => setTimeout(resolve, 5));
        await real(batch);
      });

    const answers = await Promise.all(
      users.map((_, i) =>
        Promise.all(EMOJIS.map((emoji) => react(reacting[i] as TestSocket, id, serverMsgId, emoji))),
      ),
    );
    expect(answers.flat().map(ok)).toEqual(Array<number>(50).fill(Err.ERR_SUCCESS));
    released = true;

    const final = EMOJIS.map((emoji) => ({ emoji, count: 5 }));
    for (const s of watching) {
      const seen: MessageInfo[] = [];
      for (;;) {
        const update = await nextUpdate(s);
        seen.push(update);
        if (update.reactions?.every((r) => r.count === 5) && update.reactions.length === EMOJIS.length) break;
      }
      const modSeqs = seen.map((m) => Number(m.modSeq));
      expect(modSeqs).toEqual([...modSeqs].sort((x, y) => x - y)); // oldest change first
      expect(new Set(modSeqs).size).toBe(modSeqs.length);
      expect(seen.at(-1)?.reactions?.map(({ emoji, count }) => ({ emoji, count }))).toEqual(final);
      expect(Number(seen.at(-1)?.modSeq)).toBe(50);
    }
    for (const user of users) {
      // One call held, the other changes together in the next: 2 (1 if all came before the first).
      expect(calls.get(user.userId)?.length).toBeLessThanOrEqual(2);
      expect(await inboxModSeq(user.userId, id)).toBe(50);
    }
    for (const s of [...reacting, ...watching]) s.close();
  });

  it("retries a member whose object failed the call, from the alarm, and its inbox gets the change number", async () => {
    const [a, b] = [await newUser("fa"), await newUser("fb")];
    const id = singleConversationId(a.userId, b.userId);
    const conversation = env.CONVERSATION_OBJECT.getByName(id);
    const aWeb = await connectRich(a);
    const bWeb = await connectRich(b);
    const m = await aWeb.sendText(a.userId, b.userId, "hello");
    await bWeb.pushedMessages(1);

    let calls = 0;
    hookChanges(b.userId, async (batch, real) => {
      if (calls++ === 0) throw new Error("injected: b's object is unreachable");
      await real(batch);
    });
    expect(ok(await react(aWeb, id, m.serverMsgId!, "🎉"))).toBe(Err.ERR_SUCCESS);
    await expect.poll(() => calls).toBe(1);
    expect(await inboxModSeq(b.userId, id)).toBe(0);

    // No other change comes: only the alarm brings it.
    for (let runs = 0; await runDurableObjectAlarm(conversation); runs++) expect(runs).toBeLessThan(200);
    const update = await nextUpdate(bWeb);
    expect(update.reactions).toMatchObject([{ emoji: "🎉", count: 1 }]);
    expect(Number(update.modSeq)).toBe(1);
    expect(await inboxModSeq(b.userId, id)).toBe(1);
    expect(calls).toBe(2);
    aWeb.close();
    bWeb.close();
  });

  it("resumes a restarted conversation's pumps from the stored floor, by the alarm a change armed", async () => {
    const [a, b] = [await newUser("ca"), await newUser("cb")];
    const id = singleConversationId(a.userId, b.userId);
    const conversation = env.CONVERSATION_OBJECT.getByName(id);
    const aWeb = await connectRich(a);
    const bWeb = await connectRich(b);
    const m = await aWeb.sendText(a.userId, b.userId, "hello");
    await bWeb.pushedMessages(1);
    for (let runs = 0; await runDurableObjectAlarm(conversation); runs++) expect(runs).toBeLessThan(200);

    // b's first call is lost with the process: it never arrives, and the process dies before its
    // watermarks are written (done here by rewinding them: what survives is what is stored).
    let calls = 0;
    hookChanges(b.userId, async (batch, real) => {
      if (calls++ > 0) await real(batch);
    });
    expect(ok(await react(aWeb, id, m.serverMsgId!, "🔥"))).toBe(Err.ERR_SUCCESS);
    await expect.poll(() => calls).toBe(1);
    await evictDurableObject(conversation);
    await runInDurableObject(conversation, (_instance, state) => {
      state.storage.sql.exec("DELETE FROM change_floor");
      state.storage.sql.exec("DELETE FROM change_marks");
    });

    expect(
      await runInDurableObject(conversation, (_instance, state) => state.storage.getAlarm()),
    ).not.toBeNull();
    for (let runs = 0; await runDurableObjectAlarm(conversation); runs++) expect(runs).toBeLessThan(200);
    const update = await nextUpdate(bWeb);
    expect(update.reactions).toMatchObject([{ emoji: "🔥", count: 1 }]);
    expect(await inboxModSeq(b.userId, id)).toBe(1);
    expect(calls).toBe(2);
    aWeb.close();
    bWeb.close();
  });

  it("holds a change of a message the member's object does not hold yet until its delivery", async () => {
    const [a, b] = [await newUser("da"), await newUser("db")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const bWeb = await connectRich(b);
    // b's deliveries are slow: the message is stored and reacted to before b's object has it.
    let released = false;
    const realDeliver = UserObject.prototype.deliver;
    UserObject.prototype.deliver = async function (this: UserObject, delivery: Delivery) {
      if (this["ctx"].id.name === b.userId)
        while (!released) await new Promise((resolve) => setTimeout(resolve, 5));
      return realDeliver.call(this, delivery);
    };
    try {
      const m = await aWeb.sendText(a.userId, b.userId, "hello");
      expect(ok(await react(aWeb, id, m.serverMsgId!, "👀"))).toBe(Err.ERR_SUCCESS);
      released = true;
      const before = await bWeb.drainUntil((f) => f.command === Cmd.CMD_MESSAGE_UPDATED_PUSH);
      // The device saw the message before its change.
      expect(before.map((f) => f.command)).toContain(Cmd.CMD_PUSH_MSG);
      expect(await inboxModSeq(b.userId, id)).toBe(1);
    } finally {
      UserObject.prototype.deliver = realDeliver;
    }
    aWeb.close();
    bWeb.close();
  });

  it("never puts an older state of the last message back in the conversation list", async () => {
    const [a, b] = [await newUser("la"), await newUser("lb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const m = await aWeb.sendText(a.userId, b.userId, "original");
    await expect.poll(() => latestContent(b, id)).toBe("original");
    const bObject = env.USER_OBJECT.getByName(b.userId);
    const state = (content: string, modSeq: number): ChangeBatch => ({
      conversationId: id,
      updates: [
        {
          conversationId: id,
          seq: 1,
          info: pb.MessageInfo.encode({
            serverMsgId: m.serverMsgId!,
            conversationId: id,
            senderId: a.userId,
            seq: 1,
            messageType: 1,
            content: new TextEncoder().encode(content),
          }).finish(),
          ext: new Uint8Array(),
          modSeq,
        },
      ],
      origins: [""],
      pins: null,
      pinsOrigin: "",
      modSeq,
    });

    await bObject.pushMessageUpdates(state("second edit", 3));
    await bObject.pushMessageUpdates(state("first edit", 2)); // arrives late
    expect(await latestContent(b, id)).toBe("second edit");

    await bObject.pushRevoke(
      { conversationId: id, serverMsgId: m.serverMsgId!, revokedBy: a.userId, revokedTime: Date.now() },
      1,
      "",
      4,
    );
    expect(await latestContent(b, id)).toBe("");
    await bObject.pushMessageUpdates(state("an edit read before the revoke", 3));
    expect(await latestContent(b, id)).toBe("");
    expect(await inboxModSeq(b.userId, id)).toBe(4);
    aWeb.close();
  });

  it("refuses a user's change past the burst with ERR_SEND_TOO_FAST, changing nothing", async () => {
    const [a, b] = [await newUser("ra"), await newUser("rb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const m = await aWeb.sendText(a.userId, b.userId, "toggle me");
    // The user's own limiter with its clock stopped: no token comes back while the burst is made.
    await runInDurableObject(env.USER_OBJECT.getByName(a.userId), (instance: UserObject) => {
      instance["services"]().changeLimiter = new TokenBucket(CHANGES_PER_SECOND, CHANGE_BURST, () => 0);
    });
    const answers = await Promise.all(
      Array.from({ length: CHANGE_BURST + 1 }, (_, i) => react(aWeb, id, m.serverMsgId!, "👍", i % 2 === 1)),
    );
    expect(answers.slice(0, CHANGE_BURST).map(ok)).toEqual(Array<number>(CHANGE_BURST).fill(Err.ERR_SUCCESS));
    const refused = answers[CHANGE_BURST];
    expect(refused?.errorCode).toBe(Err.ERR_SEND_TOO_FAST);
    // 20 toggles leave no reaction; the refused 21st (an add) left none either.
    const changes = await aWeb.request(
      Cmd.CMD_CHANGES_REQ,
      pb.ChangesRequest,
      { conversationId: id, afterModSeq: 0 },
      Cmd.CMD_CHANGES_RSP,
      pb.ChangesResponse,
    );
    expect(Number(changes.modSeq)).toBe(CHANGE_BURST);
    expect(changes.messages?.[0]?.reactions ?? []).toEqual([]);
    aWeb.close();
  });
});
