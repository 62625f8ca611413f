// An object another keeps calling can be reset (a deploy, an overload, an abort): after that, every
// call through a stub made before it fails, and only a new stub reaches the object again. Callers
// keep ids, never stubs, and make a new stub for every call (object-ids.ts): a call the reset cut
// short fails, and the retry must reach the object.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { Cmd, Err, pb, type MessageInfo } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { historyWriterId } from "../../src/objects/history/writer-for";
import { readSettings } from "../../src/config/settings";
import { historyD1 } from "./helpers/history";
import { afterConversationSends, restoreConversationSends } from "./helpers/faults";
import { newUser } from "./helpers/http";
import { connectRich, ok, react } from "./helpers/rich-wire";
import { text, TestSocket } from "./helpers/socket";

async function reset(stub: DurableObjectStub): Promise<void> {
  await expect(
    runInDurableObject(stub, (_instance, state) => state.abort("reset by the test")),
  ).rejects.toThrow("reset by the test");
}

it("a member whose object was reset gets the next messages once the fan-out retries", async () => {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const sender = await TestSocket.connect(a);
  const first = await TestSocket.connect(b);
  expect((await sender.sendText(a.userId, b.userId, "before")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
  expect((await first.pushedMessages(1)).map((m) => text(m.content))).toEqual(["before"]);

  // B's object restarts (its sockets go with it); B comes back.
  await reset(env.USER_OBJECT.getByName(b.userId));
  const again = await TestSocket.connect(b);
  expect((await sender.sendText(a.userId, b.userId, "after")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);

  // The delivery may have been cut short by the reset and failed; its retries (the
  // alarm, run here at once) must reach B.
  const conversation = env.CONVERSATION_OBJECT.getByName(singleConversationId(a.userId, b.userId));
  let pushed: string[] = [];
  for (let attempt = 0; attempt < 4 && pushed.length === 0; attempt++) {
    pushed = (await again.pushedMessages(1, 500).catch(() => [])).map((m) => text(m.content));
    if (pushed.length === 0) await runDurableObjectAlarm(conversation);
  }
  expect(pushed).toEqual(["after"]);
  sender.close();
  again.close();
});

it("a member whose object was reset gets the next changes once the change pump retries", async () => {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const id = singleConversationId(a.userId, b.userId);
  const aWeb = await connectRich(a);
  const bWeb = await connectRich(b);
  const m = await aWeb.sendText(a.userId, b.userId, "hello");
  await bWeb.pushedMessages(1);
  expect(ok(await react(aWeb, id, m.serverMsgId!, "👍"))).toBe(Err.ERR_SUCCESS);
  await bWeb.nextCommand(Cmd.CMD_MESSAGE_UPDATED_PUSH); // through the change pump's stub

  await reset(env.USER_OBJECT.getByName(b.userId));
  const again = await connectRich(b);
  expect(ok(await react(aWeb, id, m.serverMsgId!, "🎉"))).toBe(Err.ERR_SUCCESS);
  const conversation = env.CONVERSATION_OBJECT.getByName(id);
  let update: MessageInfo | null = null;
  for (let attempt = 0; attempt < 4 && !update; attempt++) {
    const frame = await again.nextCommand(Cmd.CMD_MESSAGE_UPDATED_PUSH, 500).catch(() => null);
    if (frame) update = pb.MessageUpdatedPush.decode(frame.body).message as MessageInfo;
    else await runDurableObjectAlarm(conversation);
  }
  expect(update?.reactions?.map((r) => r.emoji).sort()).toEqual(["🎉", "👍"].sort());
  aWeb.close();
  again.close();
});

it("a send after its conversation's object was reset is stored at the first try", async () => {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const sender = await TestSocket.connect(a);
  expect((await sender.sendText(a.userId, b.userId, "before")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);

  await reset(env.CONVERSATION_OBJECT.getByName(singleConversationId(a.userId, b.userId)));
  // A's object called the conversation before the reset (and kept its id): no ERR_UNKNOWN now.
  const answer = await sender.sendText(a.userId, b.userId, "after");
  expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
  expect(Number(answer.seq)).toBe(2);
  sender.close();
});

it("a conversation whose history writer was reset copies to D1 again once the copy retries", async () => {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const id = singleConversationId(a.userId, b.userId);
  const sender = await TestSocket.connect(a);
  const conversation = env.CONVERSATION_OBJECT.getByName(id);
  const inD1 = async () =>
    (
      await (
        await historyD1(id)
      )
        .prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
        .bind(id)
        .all<{ seq: number }>()
    ).results.map((r) => r.seq);
  expect((await sender.sendText(a.userId, b.userId, "before")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
  await expect.poll(inD1).toEqual([1]);

  await reset(env.HISTORY_WRITER.get(historyWriterId(env, id, readSettings(env).historyWriters)));
  expect((await sender.sendText(a.userId, b.userId, "after")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
  // The copy may have been cut short by the reset and failed; its retries
  // (the alarm, run here at once) must get the row in.
  for (let attempt = 0; attempt < 4 && (await inD1()).length < 2; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await runDurableObjectAlarm(conversation);
  }
  expect(await inD1()).toEqual([1, 2]);
  sender.close();
});

it("a send whose first answer was lost after it was stored is answered by the repeat, not ERR_UNKNOWN", async () => {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const phone = await TestSocket.connect(a);
  const desktop = await TestSocket.connect(a, "macOS");
  let calls = 0;
  // The first call stores the message (and hands it back), then its answer is lost.
  await afterConversationSends(a.userId, async (outcome) => {
    if (calls++ === 0) throw new Error("the answer was lost");
    return outcome;
  });
  const answer = await phone.sendText(a.userId, b.userId, "hello");
  await restoreConversationSends(a.userId);
  expect(calls).toBe(2);
  expect(answer).toMatchObject({ errorCode: Err.ERR_SUCCESS, seq: 1 });
  // The repeat answered "already stored": the sender's other device and inbox still get it, once.
  const onDesktop = await desktop.pushedMessages(1);
  expect(onDesktop.map((m) => [m.seq, text(m.content)])).toEqual([[1, "hello"]]);
  const maxSeq = await runInDurableObject(env.USER_OBJECT.getByName(a.userId), (_instance, state) =>
    state.storage.sql
      .exec<{ max_seq: number }>(
        "SELECT max_seq FROM inbox WHERE conversation_id = ?",
        singleConversationId(a.userId, b.userId),
      )
      .toArray()
      .map((r) => r.max_seq),
  );
  expect(maxSeq).toEqual([1]);
  expect(desktop.hasQueued(Cmd.CMD_PUSH_MSG)).toBe(false);
  phone.close();
  desktop.close();
});

it("a send whose call fails with the conversation's object overloaded is not repeated at once", async () => {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const phone = await TestSocket.connect(a);
  let calls = 0;
  await afterConversationSends(a.userId, () => {
    calls++;
    throw Object.assign(new Error("Durable Object is overloaded"), { overloaded: true });
  });
  const answer = await phone.sendText(a.userId, b.userId, "hello");
  await restoreConversationSends(a.userId);
  // Cloudflare asks callers not to add load to an overloaded object: the device resends later.
  expect(calls).toBe(1);
  expect(answer.errorCode).toBe(Err.ERR_UNKNOWN);
  phone.close();
});
