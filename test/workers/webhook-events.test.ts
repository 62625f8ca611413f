// The conversation's side of the after_send webhook events (src/objects/conversation/webhook-events.ts)
// on a real ConversationObject: the watermark starts at what the conversation held when the events
// were turned on (nothing old is sent), only messages D1 has are sent, in seq order; a Queue that
// fails loses nothing and keeps the alarm for the retry; turned off, the watermark goes, so turning
// it on again never replays the time it was off. The end-to-end path (Queue, consumer, receiver) is
// in test/node/webhook-events-e2e.test.ts.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Settings } from "../../src/config/settings";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import { WebhookEvents } from "../../src/objects/conversation/webhook-events";
import { ConversationType, singleConversationId } from "../../src/protocol/conversation-id";
import type { WebhookEvent } from "../../src/webhooks/events";
import { newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

/** A stand-in for the Queue binding's producer side that can be made to fail, recording what it took. */
class RecordingQueue {
  failing = false;
  readonly taken: WebhookEvent[] = [];
  async send(body: WebhookEvent): Promise<void> {
    await this.sendBatch([{ body }]);
  }
  async sendBatch(messages: { body: WebhookEvent }[]): Promise<void> {
    if (this.failing) throw new Error("Queue unavailable");
    this.taken.push(...messages.map((m) => m.body));
  }
}

function withAfterSend(settings: Settings, on: boolean): Settings {
  return {
    ...settings,
    webhook: {
      url: "https://hooks.example.com/im",
      secret: "s".repeat(32),
      beforeSend: false,
      timeoutMs: 1_000,
      onTimeout: "allow",
      events: new Set(on ? (["after_send"] as const) : []),
      retryDelaySeconds: 0,
    },
  };
}

const text = (event: WebhookEvent) => atob(String(event.data.content));

describe("after_send events of a conversation", () => {
  it("start at what it holds, follow D1 in order, and survive a failing Queue", async () => {
    const alice = await newUser("hooka");
    const bob = await newUser("hookb");
    const socket = await TestSocket.connect(alice);
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    expect((await socket.sendText(alice.userId, bob.userId, "before")).errorCode).toBe(0);

    const queue = new RecordingQueue();
    let on = true;
    let events: WebhookEvents | undefined;
    await runInDurableObject(stub, (instance: ConversationObject, state) => {
      const c = instance["c"];
      events = new WebhookEvents(
        state.storage,
        c.messages,
        c.outbox,
        c.groupOutbox,
        c.alarms,
        () => queue as unknown as Queue,
        () => withAfterSend(c.settings(), on),
        () => false,
      );
      events.start(ConversationType.single);
    });

    for (const words of ["one", "two", "three"])
      expect((await socket.sendText(alice.userId, bob.userId, words)).errorCode).toBe(0);

    await runInDurableObject(stub, async (instance: ConversationObject, state) => {
      const c = instance["c"];
      const id = { conversationId, conversationType: ConversationType.single, groupId: "" };
      await c.history.run(id); // D1 has all four
      expect(c.outbox.copiedUpTo()).toBe(4);
      expect(events!.pending()).toBe(true);

      queue.failing = true;
      await events!.run(id); // never throws: backs off from the alarm
      expect(queue.taken).toEqual([]);
      expect(events!.pending()).toBe(true);
      expect(await state.storage.getAlarm()).not.toBeNull();

      // An alarm that ran for something else meanwhile took the one the failure set: a run while
      // backing off sets it again, for the end of the backoff.
      await state.storage.deleteAlarm();
      c.alarms.fired();
      await events!.run(id);
      expect(await state.storage.getAlarm()).toBe(events!["notBefore"]);
      expect(queue.taken).toEqual([]);

      queue.failing = false;
      events!["notBefore"] = 0; // the backoff's alarm has come
      await events!.run(id);
      expect(queue.taken.map(text)).toEqual(["one", "two", "three"]); // not "before"
      expect(queue.taken.map((e) => e.data.seq)).toEqual([2, 3, 4]);
      expect(queue.taken.map((e) => e.eventID)).toEqual(
        queue.taken.map((e) => `after_send:${String(e.data.serverMsgID)}`),
      );
      expect(events!.pending()).toBe(false);
      await events!.run(id);
      expect(queue.taken).toHaveLength(3); // each once

      // Off: the watermark goes; on again, it starts over at what the conversation holds.
      on = false;
      events!.start(ConversationType.single);
      const stored = () =>
        state.storage.sql.exec("SELECT value FROM meta WHERE key = 'eventSeq'").toArray()[0]?.value;
      expect(stored()).toBeUndefined();
      on = true;
      events!.start(ConversationType.single);
      expect(stored()).toBe("4");

      // A system conversation's notices are never events.
      on = true;
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'eventSeq'");
      events!.start(ConversationType.system);
      expect(stored()).toBeUndefined();
    });
    socket.close();
  });
});
