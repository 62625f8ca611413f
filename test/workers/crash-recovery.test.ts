// What a crash leaves half done inside a ConversationObject is resumed by its alarm, the one thing
// that survives a restart: so the alarm must stay armed while any of that work is pending. (The
// runtime crash itself is test/chaos/crash.test.ts, against wrangler dev.)
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

describe("the alarm as the recovery point", () => {
  it("stays armed while a member's fan-out is behind, and stops once every inbox has caught up", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    for (let i = 1; i <= 3; i++) await socket.sendText(a.userId, b.userId, `m${i}`);
    for (let runs = 0; await runDurableObjectAlarm(stub); runs++) expect(runs).toBeLessThan(200);

    // B's delivery of seqs 2 and 3 was in flight when the process died: the stored watermarks are
    // behind (B's own and the floor every member passed), and the pump that was running it is gone
    // with the process's memory.
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE members SET fanout_seq = 1 WHERE user_id = ?", b.userId);
      state.storage.sql.exec("UPDATE fanout_floor SET seq = 1");
    });
    await evictDurableObject(stub);
    const pending = await runInDurableObject(stub, async (instance: ConversationObject, state) => {
      await instance.alarm(); // restarts B's pump...
      // ...and must leave an alarm behind: if the process died again before the pump finished,
      // nothing else would ever restart it (no send may come to this conversation again).
      return state.storage.getAlarm();
    });
    expect(pending).not.toBeNull();

    for (let runs = 0; await runDurableObjectAlarm(stub); runs++) expect(runs).toBeLessThan(200);
    const fanout = await runInDurableObject(stub, async (_instance, state) => ({
      // Each member's watermark as a restart reads it: its own row, or the floor when that is higher.
      watermarks: state.storage.sql
        .exec<{ seq: number }>(
          "SELECT MAX(fanout_seq, (SELECT seq FROM fanout_floor)) AS seq FROM members ORDER BY user_id",
        )
        .toArray()
        .map((r) => r.seq),
      alarm: await state.storage.getAlarm(),
    }));
    expect(fanout).toEqual({ watermarks: [3, 3], alarm: null });
    const list = await api<{ conversations: { conversationID: string; maxSeq: number }[] }>(
      "/api/conversations",
      { token: b.token },
    );
    expect(list.body.data?.conversations).toMatchObject([{ conversationID: conversationId, maxSeq: 3 }]);
    socket.close();
  });
});
