// D1 faults (issue 7, point 2): history writes to D1 fail for a while. The conversation keeps
// answering sends (its own SQLite is the seq authority), its outbox holds every row D1 does not have,
// the alarm retries with a growing backoff that new sends do not cut short, every failure is counted
// and logged, and once D1 is back the history is complete with no duplicates. With history sharded
// over several D1 databases, one shard failing holds back only its own conversations.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backoff } from "../../src/objects/conversation/alarm-clock";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import { FLUSH_BATCH_ROWS } from "../../src/objects/conversation/history-outbox";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { newUser, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";
import { loggedEvents } from "./helpers/logs";
import { historyD1, historyShardD1s, historyShardName, pairOnShard, shardD1 } from "./helpers/history";

/** Sends `count` texts without waiting for each ack (the SDK pipelines too); resolves with all acks. */
function sendPipelined(socket: TestSocket, from: TestUser, to: TestUser, count: number, label: string) {
  const sequences = Array.from({ length: count }, (_, i) =>
    socket.send(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, {
      message: {
        clientMsgId: crypto.randomUUID(),
        conversationId: singleConversationId(from.userId, to.userId),
        senderId: from.userId,
        receiverId: to.userId,
        messageType: 1,
        content: new TextEncoder().encode(`${label} ${i + 1}`),
        sendTime: Date.now(),
      },
    }),
  );
  // Hundreds in flight on a busy machine: give the acks time.
  return Promise.all(
    sequences.map(async (sequence) => {
      const frame = await socket.next(
        (f) => f.command === Cmd.CMD_SEND_MSG_RSP && f.sequence === sequence,
        120_000,
      );
      return pb.SendMessageResponse.decode(frame.body);
    }),
  );
}

type Ack = Awaited<ReturnType<typeof sendPipelined>>[number];

/** The object's outbox store: what D1 still lacks is read from it. */
const outboxOf = (instance: ConversationObject) => instance["c"].outbox;

/** What the conversation's object holds about its flush, read inside the object. */
function flushState(conversationId: string) {
  return runInDurableObject(
    env.CONVERSATION_OBJECT.getByName(conversationId),
    async (instance: ConversationObject, state) => ({
      failures: instance["c"].history.failures,
      outbox: outboxOf(instance).unflushedSeqs(),
      alarm: await state.storage.getAlarm(),
    }),
  );
}

/** The conversation's history in D1, on its shard. */
async function historyInD1(conversationId: string) {
  const history = await historyD1(conversationId);
  const rows = await history
    .prepare("SELECT seq, server_msg_id FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(conversationId)
    .all<{ seq: number; server_msg_id: string }>();
  const stats = await history
    .prepare(
      "SELECT COUNT(*) AS rows, COUNT(DISTINCT seq) AS seqs, COUNT(DISTINCT server_msg_id) AS ids FROM messages WHERE conversation_id = ?",
    )
    .bind(conversationId)
    .first<{ rows: number; seqs: number; ids: number }>();
  return { rows: rows.results, stats };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The outage: a shard's history table is renamed away, so every INSERT into `messages` fails. */
async function takeHistoryDown(d1: D1Database) {
  await d1.prepare("ALTER TABLE messages RENAME TO messages_offline").run();
}
async function bringHistoryBack(d1: D1Database) {
  await d1.prepare("ALTER TABLE messages_offline RENAME TO messages").run();
}

afterEach(async () => {
  vi.restoreAllMocks();
  // Whatever a failed test left behind, the next one starts with the tables in place.
  for (const [, d1] of historyShardD1s()) {
    const offline = await d1
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'messages_offline'")
      .first();
    if (offline) await bringHistoryBack(d1);
  }
});

describe("D1 history writes failing for a while", () => {
  it(
    "holds every row in the outbox, backs off, logs each failure, and completes D1 exactly once when it is back",
    { timeout: 180_000 },
    async () => {
      const [a, b] = [await newUser("a"), await newUser("b")];
      const socket = await TestSocket.connect(a);
      const conversationId = singleConversationId(a.userId, b.userId);
      const stub = env.CONVERSATION_OBJECT.getByName(conversationId);

      // Before the outage: 5 messages reach D1.
      const before = await sendPipelined(socket, a, b, 5, "before");
      while (await runDurableObjectAlarm(stub));
      expect((await historyInD1(conversationId)).rows.map((r) => r.seq)).toEqual(range(1, 5));

      // The conversation's shard goes down (its shard was recorded before its first rows).
      const shard = await historyD1(conversationId);
      await takeHistoryDown(shard);
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      // Sends keep working: more than one flush batch of them, all acked while D1 is down.
      const outageCount = FLUSH_BATCH_ROWS + 10;
      const during = await sendPipelined(socket, a, b, outageCount, "during");
      expect(during.every((ack) => (ack.errorCode ?? 0) === Err.ERR_SUCCESS)).toBe(true);
      expect(during.map((ack) => Number(ack.seq)).sort((x, y) => x - y)).toEqual(range(6, 5 + outageCount));

      // Each alarm run fails, keeps every row, and re-arms itself further away each time.
      let last = { failures: 0, delay: 0 };
      const delays: number[] = [];
      let held = 0;
      let late: Ack | null = null;
      for (let round = 1; round <= 4; round++) {
        const t0 = Date.now();
        expect(await runDurableObjectAlarm(stub)).toBe(true);
        const t1 = Date.now();
        const state = await flushState(conversationId);
        // (The alarm may also have fired by itself in between: each failure counts.)
        expect(state.failures).toBeGreaterThan(last.failures);
        const delay = backoff(state.failures);
        expect(state.alarm).not.toBeNull();
        expect(state.alarm!).toBeGreaterThanOrEqual(t0 + delay);
        expect(state.alarm!).toBeLessThanOrEqual(t1 + delay);
        expect(delay > last.delay || delay === backoff(Infinity)).toBe(true);
        expect(state.outbox).toEqual(range(6, 5 + outageCount + (late ? 1 : 0)));
        last = { failures: state.failures, delay };
        delays.push(delay);
        held = state.outbox.length;

        if (round === 2) {
          // A send during the outage is acked at once and does not pull the retry forward: a busy
          // conversation must not hammer a failing D1 every FLUSH_DELAY_MS.
          late = await socket.sendText(a.userId, b.userId, "late");
          expect(late.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
          const after = await flushState(conversationId);
          expect(after.alarm!).toBeGreaterThanOrEqual(state.alarm!);
          expect(after.outbox).toContain(Number(late.seq));
        }
      }

      // Never silent: every failure was logged with the conversation, its count and the next retry.
      const logged = loggedEvents(errors).filter(
        (line) => line.event === "history_flush_failed" && line.conversationId === conversationId,
      );
      expect(logged.length).toBe(last.failures);
      expect(logged.at(-1)).toMatchObject({
        level: "error",
        attempt: last.failures,
        delayMs: last.delay,
        error: { message: expect.any(String) },
      });

      // D1 is back: the alarm runs until the outbox is empty (the rows take more than one batch).
      await bringHistoryBack(shard);
      let drainRuns = 0;
      while (await runDurableObjectAlarm(stub)) expect(++drainRuns).toBeLessThan(200);
      const state = await flushState(conversationId);
      expect(state).toEqual({ failures: 0, outbox: [], alarm: null });

      const total = 5 + outageCount + 1;
      const history = await historyInD1(conversationId);
      expect(history.stats).toEqual({ rows: total, seqs: total, ids: total });
      const acked = [...before, ...during, late!].sort((x, y) => Number(x.seq) - Number(y.seq));
      console.log(
        `d1-faults: outage rows held in the outbox ${held} (every one), flush failures ${last.failures} ` +
          `(each logged), retry delays ${delays.join(" → ")} ms, alarm runs to drain ${drainRuns}, ` +
          `D1 rows after recovery ${history.stats?.rows} (distinct seqs ${history.stats?.seqs}, ids ${history.stats?.ids}, acked ${total}); lost 0, duplicates 0`,
      );
      expect(history.rows).toEqual(
        acked.map((ack) => ({ seq: Number(ack.seq), server_msg_id: ack.serverMsgId })),
      );
      socket.close();
    },
  );

  it("keeps a revoke that lands while its message's flush is in flight, so D1 drops the content too", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    const ack = await socket.sendText(a.userId, b.userId, "sent to the wrong person");
    const seq = Number(ack.seq);

    await runInDurableObject(stub, async (instance: ConversationObject, state) => {
      // Whether or not the alarm already copied it, the row is pending a flush again.
      state.storage.sql.exec("INSERT OR IGNORE INTO requeue (seq) VALUES (?)", seq);
      const flushing = instance.alarm(); // has read the row, now waits on D1
      const revoked = await instance.revoke({
        userId: a.userId,
        serverMsgId: ack.serverMsgId!,
        originSession: "",
      });
      expect(revoked.ok).toBe(true);
      // D1 got the copy from before the revoke; the copy goes round again for the revoked one.
      await flushing;
    });
    while (await runDurableObjectAlarm(stub));

    const row = await (
      await historyD1(conversationId)
    )
      .prepare("SELECT is_revoked, revoked_by, length(content) AS size FROM messages WHERE server_msg_id = ?")
      .bind(ack.serverMsgId)
      .first();
    expect(row).toEqual({ is_revoked: 1, revoked_by: a.userId, size: 0 });
    socket.close();
  });
});

describe("a row D1 refuses", () => {
  it("is set aside with a log line while every other row reaches D1; D1 refusing everything sets nothing aside", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationId = singleConversationId(a.userId, b.userId);
    // D1 refuses one row as it would refuse a row it cannot take, and only that row (on every
    // shard: the conversation's is chosen at its first copy).
    for (const [, d1] of historyShardD1s())
      await d1
        .prepare(
          `CREATE TRIGGER refuse_poison BEFORE INSERT ON messages WHEN NEW.client_msg_id = 'poison'
           BEGIN SELECT RAISE(ABORT, 'row refused'); END`,
        )
        .run();
    try {
      const socket = await TestSocket.connect(a);
      for (let i = 0; i < 9; i++) await socket.sendText(a.userId, b.userId, `ok ${i}`);
      const poison = await socket.sendText(a.userId, b.userId, "refused", "poison");
      for (let i = 0; i < 10; i++) await socket.sendText(a.userId, b.userId, `after ${i}`);
      socket.close();
      const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
      // The first flush fails as a whole; the retry writes in pieces and sets the one row aside.
      for (let run = 0; run < 3 && (await flushState(conversationId)).outbox.length > 0; run++)
        await runDurableObjectAlarm(stub);
      const { rows } = await historyInD1(conversationId);
      expect(rows.map((r) => r.seq)).toEqual(range(1, 20).filter((seq) => seq !== poison.seq));
      expect((await flushState(conversationId)).outbox).toEqual([]);
      const setAside = await runInDurableObject(stub, (instance: ConversationObject) =>
        outboxOf(instance).setAsideSeqs(),
      );
      expect(setAside).toEqual([{ seq: poison.seq, error: expect.stringMatching(/row refused/) }]);
    } finally {
      for (const [, d1] of historyShardD1s()) await d1.prepare("DROP TRIGGER refuse_poison").run();
    }

    // D1 refusing every row (down or full) sets nothing aside: every row waits in the outbox.
    const [c, d] = [await newUser("c"), await newUser("d")];
    const other = singleConversationId(c.userId, d.userId);
    const socket = await TestSocket.connect(c);
    // Every shard down before the sends: each send starts a copy at once (history-flush.ts).
    for (const [, d1] of historyShardD1s()) await takeHistoryDown(d1);
    for (let i = 0; i < 5; i++) await socket.sendText(c.userId, d.userId, `kept ${i}`);
    socket.close();
    try {
      const stub = env.CONVERSATION_OBJECT.getByName(other);
      await runDurableObjectAlarm(stub);
      await runDurableObjectAlarm(stub);
      expect((await flushState(other)).outbox).toEqual(range(1, 5));
      expect(
        await runInDurableObject(stub, (instance: ConversationObject) => outboxOf(instance).setAsideSeqs()),
      ).toEqual([]);
    } finally {
      for (const [, d1] of historyShardD1s()) await bringHistoryBack(d1);
    }
  });
});

describe("one history shard failing", () => {
  it(
    "holds back only its own conversations: the other shard's keep reaching D1, and the failed one is complete once it is back",
    { timeout: 180_000 },
    async () => {
      const down = await pairOnShard("HISTORY_1");
      const up = await pairOnShard("DB");
      const [downSocket, upSocket] = [await TestSocket.connect(down.a), await TestSocket.connect(up.a)];
      const downStub = env.CONVERSATION_OBJECT.getByName(down.conversationId);
      const upStub = env.CONVERSATION_OBJECT.getByName(up.conversationId);
      const before = await sendPipelined(downSocket, down.a, down.b, 3, "before");
      await sendPipelined(upSocket, up.a, up.b, 3, "before");
      while (await runDurableObjectAlarm(downStub));
      while (await runDurableObjectAlarm(upStub));
      expect(await historyShardName(down.conversationId)).toBe("HISTORY_1");
      expect(await historyShardName(up.conversationId)).toBe("DB");

      const failing = shardD1("HISTORY_1");
      await takeHistoryDown(failing);
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const count = 40;
      const during = await sendPipelined(downSocket, down.a, down.b, count, "during");
      const upDuring = await sendPipelined(upSocket, up.a, up.b, count, "during");
      expect([...during, ...upDuring].every((ack) => (ack.errorCode ?? 0) === Err.ERR_SUCCESS)).toBe(true);

      // The healthy shard's conversation reaches D1 through the writers as ever, no alarm run needed.
      await expect
        .poll(async () => (await historyInD1(up.conversationId)).stats?.rows, { timeout: 30_000 })
        .toBe(3 + count);
      expect((await flushState(up.conversationId)).outbox).toEqual([]);
      // The failing shard's conversation holds every row in its outbox and backs off.
      expect(await runDurableObjectAlarm(downStub)).toBe(true);
      const held = await flushState(down.conversationId);
      expect(held.failures).toBeGreaterThan(0);
      expect(held.outbox).toEqual(range(4, 3 + count));
      expect(loggedEvents(errors).some((line) => line.conversationId === up.conversationId)).toBe(false);

      // Back: the failed shard gets exactly what was acked, once; nothing of it went to another shard.
      await bringHistoryBack(failing);
      while (await runDurableObjectAlarm(downStub));
      expect(await flushState(down.conversationId)).toEqual({ failures: 0, outbox: [], alarm: null });
      const history = await historyInD1(down.conversationId);
      const total = 3 + count;
      expect(history.stats).toEqual({ rows: total, seqs: total, ids: total });
      const acked = [...before, ...during].sort((x, y) => Number(x.seq) - Number(y.seq));
      expect(history.rows).toEqual(
        acked.map((ack) => ({ seq: Number(ack.seq), server_msg_id: ack.serverMsgId })),
      );
      const strays = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?")
        .bind(down.conversationId)
        .first<{ n: number }>();
      expect(strays?.n).toBe(0);
      console.log(
        `d1-faults (one shard down): healthy shard's conversation in D1 ${3 + count}/${3 + count} during the outage; ` +
          `failed shard's outbox held ${held.outbox.length}, after recovery ${history.stats?.rows} rows ` +
          `(distinct seqs ${history.stats?.seqs}, ids ${history.stats?.ids}); lost 0, duplicates 0`,
      );
      downSocket.close();
      upSocket.close();
    },
  );
});
