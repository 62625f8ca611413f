// The history writer (src/objects/history/): many conversations' D1 copies in one batch, each caller
// answered only once its rows are in D1, and a row D1 refuses failing only its own conversation's
// call. And what it buys: a quiet conversation's messages reach D1 with no alarm run, setting the
// alarm that guards the copy once and letting it lapse, not setting and deleting it per message.
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { usageSnapshot } from "../../src/lib/usage-meter";
import { historyBytes, MAX_COPY_BYTES, withinCopyBytes } from "../../src/objects/history/history-bytes";
import { MAX_HELD_BYTES, type HistoryWriter } from "../../src/objects/history/history-writer";
import type { StoredMessage } from "../../src/objects/message";
import { COPY_GUARD_MS, HIBERNATION_GRACE_MS } from "../../src/objects/conversation/history-flush";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";
import { historyD1 } from "./helpers/history";

function row(conversationId: string, seq: number, clientMsgId = crypto.randomUUID()): StoredMessage {
  return {
    seq,
    serverMsgId: crypto.randomUUID(),
    clientMsgId,
    conversationId,
    conversationType: 1,
    senderId: "writer-test-a",
    receiverId: "writer-test-b",
    groupId: "",
    messageType: 1,
    content: new TextEncoder().encode(`row ${seq}`),
    sendTime: 1,
    serverTime: 2,
    extra: "",
    attachedInfo: "",
    originSession: "",
    isRevoked: false,
    revokedBy: "",
    revokedTime: 0,
  };
}

async function seqsInD1(conversationId: string): Promise<number[]> {
  const { results } = await env.DB.prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(conversationId)
    .all<{ seq: number }>();
  return results.map((r) => r.seq);
}

/** The seqs of a conversation on its history shard (recorded before its first row is written there). */
async function historySeqs(conversationId: string): Promise<number[]> {
  const { results } = await (
    await historyD1(conversationId)
  )
    .prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(conversationId)
    .all<{ seq: number }>();
  return results.map((r) => r.seq);
}

/** The conversation's alarm and its D1 watermark as stored. */
function copyState(stub: DurableObjectStub) {
  return runInDurableObject(stub, async (_i, state) => ({
    alarm: await state.storage.getAlarm(),
    watermark: state.storage.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'flushedSeq'")
      .one().value,
  }));
}

describe("the history writer", () => {
  it("writes several conversations' rows together and answers each caller once they are in D1", async () => {
    const writer = env.HISTORY_WRITER.getByName("writer-test-1");
    const [x, y] = ["single_writer_x", "single_writer_y"];
    const outcomes = await Promise.all([writer.write([row(x, 1), row(x, 2)]), writer.write([row(y, 1)])]);
    expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
    expect(await seqsInD1(x)).toEqual([1, 2]);
    expect(await seqsInD1(y)).toEqual([1]);
  });

  it("fails only the call whose row D1 refuses; the other conversation's rows go in", async () => {
    await env.DB.prepare(
      `CREATE TRIGGER writer_poison BEFORE INSERT ON messages WHEN NEW.client_msg_id = 'writer-poison'
       BEGIN SELECT RAISE(ABORT, 'row refused'); END`,
    ).run();
    try {
      const writer = env.HISTORY_WRITER.getByName("writer-test-2");
      const [bad, good] = ["single_writer_bad", "single_writer_good"];
      const outcomes = await Promise.all([
        writer.write([row(bad, 1), row(bad, 2, "writer-poison")]),
        writer.write([row(good, 1), row(good, 2)]),
      ]);
      expect(outcomes).toEqual([
        { ok: false, refusedByD1: true, error: expect.stringMatching(/row refused/) },
        { ok: true },
      ]);
      expect(await seqsInD1(good)).toEqual([1, 2]);
      expect(await seqsInD1(bad)).toEqual([]);
    } finally {
      await env.DB.prepare("DROP TRIGGER writer_poison").run();
    }
  });

  it("tells every caller to retry through it, not to write in pieces, when D1 takes nothing", async () => {
    await env.DB.prepare("ALTER TABLE messages RENAME TO messages_offline").run();
    try {
      const writer = env.HISTORY_WRITER.getByName("writer-test-3");
      const outcomes = await Promise.all([
        writer.write([row("single_writer_down_1", 1)]),
        writer.write([row("single_writer_down_2", 1)]),
      ]);
      expect(outcomes.map((o) => o.ok || o.refusedByD1)).toEqual([false, false]);
    } finally {
      await env.DB.prepare("ALTER TABLE messages_offline RENAME TO messages").run();
    }
  });

  it("writes each shard's rows to that shard; a shard that takes nothing fails only its own callers", async () => {
    const shard = env.HISTORY_1;
    const seqsOn = async (d1: D1Database, conversationId: string) =>
      (
        await d1
          .prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
          .bind(conversationId)
          .all<{ seq: number }>()
      ).results.map((r) => r.seq);
    const writer = env.HISTORY_WRITER.getByName("writer-test-shards");
    const [x1, x2, y1, y2] = ["single_shard_x1", "single_shard_x2", "single_shard_y1", "single_shard_y2"];
    await shard.prepare("ALTER TABLE messages RENAME TO messages_offline").run();
    try {
      const outcomes = await Promise.all([
        writer.writeToShard("HISTORY_1", [row(x1, 1)]),
        writer.writeToShard("HISTORY_1", [row(x2, 1)]),
        writer.writeToShard("DB", [row(y1, 1), row(y1, 2)]),
        writer.writeToShard("DB", [row(y2, 1)]),
      ]);
      expect(outcomes.map((o) => o.ok || o.refusedByD1)).toEqual([false, false, true, true]);
      expect(outcomes.slice(2)).toEqual([{ ok: true }, { ok: true }]);
    } finally {
      await shard.prepare("ALTER TABLE messages_offline RENAME TO messages").run();
    }
    expect(await seqsInD1(y1)).toEqual([1, 2]);
    expect(await seqsOn(shard, y1)).toEqual([]);
    // Back: the retried rows go to their shard, not to DB.
    expect(await writer.writeToShard("HISTORY_1", [row(x1, 1)])).toEqual({ ok: true });
    expect(await seqsOn(shard, x1)).toEqual([1]);
    expect(await seqsInD1(x1)).toEqual([]);
    // A shard not in HISTORY_SHARDS (a caller with other settings): retried later, never written elsewhere.
    expect(await writer.writeToShard("HISTORY_9", [row("single_shard_z", 1)])).toEqual({
      ok: false,
      refusedByD1: false,
      error: expect.stringMatching(/HISTORY_9 is not in HISTORY_SHARDS/),
    });
  });

  it("turns away only the callers of a shard whose lane is full (a shard that stopped answering)", async () => {
    const writer = env.HISTORY_WRITER.getByName("writer-test-full-lane");
    // HISTORY_1's lane as a hung D1 call leaves it: a batch under way, and the lane's bound reached.
    await runInDurableObject(writer, (instance: HistoryWriter) => {
      instance["lanes"].set("HISTORY_1", {
        waiting: [],
        rows: 0,
        bytes: 0,
        timer: null,
        writing: true,
        held: MAX_HELD_BYTES,
      });
      instance["heldBytes"] = MAX_HELD_BYTES;
    });
    try {
      expect(await writer.writeToShard("HISTORY_1", [row("single_full_lane_x", 1)])).toEqual({
        ok: false,
        refusedByD1: false,
        error: "history writer is full",
      });
      expect(await writer.writeToShard("DB", [row("single_full_lane_y", 1)])).toEqual({ ok: true });
      expect(await seqsInD1("single_full_lane_y")).toEqual([1]);
    } finally {
      await runInDurableObject(writer, (instance: HistoryWriter) => {
        instance["lanes"].delete("HISTORY_1");
        instance["heldBytes"] = 0;
      });
    }
  });

  it("never lets a late copy from before a revoke bring the content back", async () => {
    const writer = env.HISTORY_WRITER.getByName("writer-test-4");
    const conversationId = "single_writer_revoked";
    const sent = row(conversationId, 1);
    const revoked = {
      ...sent,
      content: new Uint8Array(),
      isRevoked: true,
      revokedBy: "writer-test-a",
      revokedTime: 3,
    };
    expect(await writer.write([sent])).toEqual({ ok: true });
    expect(await writer.write([revoked])).toEqual({ ok: true });
    expect(await writer.write([sent])).toEqual({ ok: true }); // a batch that was still on its way
    const stored = await env.DB.prepare(
      "SELECT is_revoked, revoked_by, length(content) AS size FROM messages WHERE conversation_id = ?",
    )
      .bind(conversationId)
      .first();
    expect(stored).toEqual({ is_revoked: 1, revoked_by: "writer-test-a", size: 0 });
  });

  it("hands a backlog of large messages over in pieces that fit one call", () => {
    const big = (seq: number) => ({ ...row("single_writer_big", seq), content: new Uint8Array(60_000) });
    const backlog = Array.from({ length: 700 }, (_, i) => big(i + 1));
    const first = withinCopyBytes(backlog);
    expect(first.length).toBeGreaterThan(1);
    expect(historyBytes(first)).toBeLessThanOrEqual(MAX_COPY_BYTES);
    expect(historyBytes(backlog.slice(0, first.length + 1))).toBeGreaterThan(MAX_COPY_BYTES);
    const huge = [{ ...big(1), content: new Uint8Array(MAX_COPY_BYTES + 1) }, big(2)];
    expect(withinCopyBytes(huge)).toHaveLength(1); // one row larger than a call still goes, alone
  });

  it("takes a quiet conversation's messages to D1 with one alarm set, no alarm run and no watermark write per message; the alarm lapses once", async () => {
    const [a, b] = [await newUser("quiet-a"), await newUser("quiet-b")];
    const socket = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    const before = usageSnapshot();
    const inHistory = () => historySeqs(conversationId);
    const stored = () => copyState(stub);

    const sentAt = Date.now();
    const first = await socket.sendText(a.userId, b.userId, "one message, then silence");
    await expect.poll(inHistory, { timeout: 5_000, interval: 20 }).toEqual([Number(first.seq)]);
    const guard = (await stored()).alarm;
    expect(guard).toBeGreaterThanOrEqual(sentAt + COPY_GUARD_MS);
    // It runs while the object still holds what its copies moved in memory: before the runtime
    // may hibernate an object quiet since this send.
    expect(guard).toBeLessThan(Number(first.serverTime) + HIBERNATION_GRACE_MS);
    // A second message, copied too: the alarm is the first send's, not set again, and the copies
    // moved the D1 watermark in memory only.
    const second = await socket.sendText(a.userId, b.userId, "and one more");
    await expect
      .poll(inHistory, { timeout: 5_000, interval: 20 })
      .toEqual([first, second].map((m) => Number(m.seq)));
    expect(await stored()).toEqual({ alarm: guard, watermark: "0" });
    const after = usageSnapshot();
    expect(
      (after.invocations["conversation.alarm"] ?? 0) - (before.invocations["conversation.alarm"] ?? 0),
    ).toBe(0);
    expect(
      (after.invocations["history.rpc"] ?? 0) - (before.invocations["history.rpc"] ?? 0),
    ).toBeGreaterThan(0);

    // The alarm lapses: its one run saves the watermark and sets no other.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored()).toEqual({ alarm: null, watermark: String(second.seq) });
    expect(await inHistory()).toEqual([first, second].map((m) => Number(m.seq)));
    socket.close();
  });

  it("copies again, once, what a restart before the alarm's run left unsaved", async () => {
    const [a, b] = [await newUser("lapse-a"), await newUser("lapse-b")];
    const socket = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    const rows = () => historySeqs(conversationId);
    const sent = [];
    for (const text of ["one", "two", "three"])
      sent.push(Number((await socket.sendText(a.userId, b.userId, text)).seq));
    await expect.poll(rows, { timeout: 5_000, interval: 20 }).toEqual(sent);
    // The process dies before the alarm's run: the D1 watermark stored is still 0, and so is the
    // fan-out floor (a quiet message writes neither).
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // The deliveries it repeats (B's inbox already had them) run from the alarm until done.
    for (let runs = 0; await runDurableObjectAlarm(stub); runs++) expect(runs).toBeLessThan(20);
    expect(await rows()).toEqual(sent); // each row once
    const after = await copyState(stub);
    expect(after).toEqual({ alarm: null, watermark: String(sent.at(-1)) });
    // The repeated deliveries changed nothing in B's inbox.
    const list = await api<{
      conversations: { conversationID: string; maxSeq: number; unreadCount: number }[];
    }>("/api/conversations", { token: b.token });
    expect(list.body.data?.conversations).toMatchObject([
      { conversationID: conversationId, maxSeq: 3, unreadCount: 3 },
    ]);
    socket.close();
  });
  it("brings a retry's later alarm forward to the guard's time when a message is sent", async () => {
    const [a, b] = [await newUser("guard-a"), await newUser("guard-b")];
    const socket = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    await socket.sendText(a.userId, b.userId, "the conversation exists");
    // A retry waits a minute (a webhook Queue or a member's object failing), set through the
    // object's own clock as the retry paths set it.
    const retryAt = Date.now() + 60_000;
    await runInDurableObject(stub, async (instance) => {
      await (
        instance as unknown as { c: { alarms: { setExactly(at: number): Promise<void> } } }
      ).c.alarms.setExactly(retryAt);
    });
    const sent = await socket.sendText(a.userId, b.userId, "a message under that retry");
    // The guard still runs before the object may hibernate and drop what the copy moved in memory.
    const { alarm } = await copyState(stub);
    expect(alarm).toBeLessThan(Number(sent.serverTime) + HIBERNATION_GRACE_MS);
    socket.close();
  });
});
