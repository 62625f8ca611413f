import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { newUser, type TestUser } from "./helpers/http";
import { TestSocket, text } from "./helpers/socket";
import { historyD1 } from "./helpers/history";

async function sendMany(socket: TestSocket, from: TestUser, to: TestUser, count: number) {
  const acks = [];
  for (let i = 1; i <= count; i++) acks.push(await socket.sendText(from.userId, to.userId, `msg ${i}`));
  return acks;
}

function batchSync(socket: TestSocket, states: { conversationId: string; lastSeq: number }[], max?: number) {
  return socket.request(
    Cmd.CMD_BATCH_SYNC_REQ,
    pb.BatchSyncRequest,
    { conversationStates: states, maxCountPerConversation: max, followsHasMore: true },
    Cmd.CMD_BATCH_SYNC_RSP,
    pb.BatchSyncResponse,
  );
}

function syncRange(
  socket: TestSocket,
  conversationId: string,
  startSeq: number,
  endSeq: number,
  count?: number,
) {
  return socket.request(
    Cmd.CMD_SYNC_RANGE_REQ,
    pb.SyncRangeRequest,
    { requestId: crypto.randomUUID(), conversationId, startSeq, endSeq, count },
    Cmd.CMD_SYNC_RANGE_RSP,
    pb.SyncRangeResponse,
  );
}

describe("catching up", () => {
  it("brings 250 messages sent while B was offline in BATCH_SYNC pages with has_more", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    await sendMany(sender, a, b, 250);
    const conversationId = singleConversationId(a.userId, b.userId);

    const receiver = await TestSocket.connect(b);
    const pages = [];
    let lastSeq = 0;
    for (;;) {
      const response = await batchSync(receiver, [{ conversationId, lastSeq }]);
      expect(response.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
      const entry = response.conversationMessages.find((c) => c.conversationId === conversationId)!;
      pages.push(entry);
      expect(entry.maxSeq).toBe(250);
      lastSeq = Number(entry.syncedSeq);
      if (!entry.hasMore) break;
    }
    expect(pages.map((p) => p.messages?.length)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, false]);
    const seqs = pages.flatMap((p) => (p.messages ?? []).map((m) => m.seq));
    expect(seqs).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(text(pages[2]!.messages?.[49]?.content)).toBe("msg 250");
    sender.close();
    receiver.close();
  });

  it("gives a new device (empty state list) the newest messages of every conversation", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const aSocket = await TestSocket.connect(a);
    const cSocket = await TestSocket.connect(c);
    await sendMany(aSocket, a, b, 130);
    await sendMany(cSocket, c, b, 3);
    const fresh = await TestSocket.connect(b, "iPad");
    const response = await batchSync(fresh, []);
    const byId = new Map(response.conversationMessages.map((cm) => [cm.conversationId, cm]));
    const fromA = byId.get(singleConversationId(a.userId, b.userId))!;
    expect((fromA.messages ?? []).map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 31));
    expect(fromA).toMatchObject({ maxSeq: 130, syncedSeq: 130 });
    expect(fromA.hasMore ?? false).toBe(false);
    expect(byId.get(singleConversationId(c.userId, b.userId))!.messages).toHaveLength(3);
    expect(response.totalMessageCount).toBe(103);
    for (const s of [aSocket, cSocket, fresh]) s.close();
  });

  it("reports a listed conversation with nothing new without reading it", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    await sendMany(sender, a, b, 2);
    const receiver = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    const response = await batchSync(receiver, [{ conversationId, lastSeq: 2 }]);
    const entry = response.conversationMessages.find((c) => c.conversationId === conversationId)!;
    expect(entry.messages).toHaveLength(0);
    expect(entry).toMatchObject({ maxSeq: 2, syncedSeq: 2 });
    expect(entry.hasMore ?? false).toBe(false);
    sender.close();
    receiver.close();
  });

  it("marks delivered only what a sync answer gave, not what it read and cut to fit the frame", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const big = "x".repeat(40 * 1024); // 100 of these are far over one answer's byte budget
    for (let i = 0; i < 100; i++) await sender.sendText(a.userId, b.userId, `${i} ${big}`);

    const receiver = await TestSocket.connect(b);
    const answer = await batchSync(receiver, [{ conversationId, lastSeq: 0 }], 100);
    const entry = answer.conversationMessages.find((c) => c.conversationId === conversationId)!;
    const given = Number(entry.syncedSeq);
    expect(entry.hasMore).toBe(true);
    expect(given).toBeLessThan(100);

    // The sender sees its messages delivered up to what b was given, and no further.
    const statusOf = async (seq: number) =>
      (await syncRange(sender, conversationId, seq, seq)).messages[0]?.status;
    await expect.poll(() => statusOf(given), { timeout: 5_000, interval: 200 }).toBe(2);
    expect(await statusOf(given + 1)).toBe(1);
    expect(await statusOf(100)).toBe(1);
    sender.close();
    receiver.close();
  });

  it("fills an arbitrary gap with SYNC_RANGE, paged with has_more", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    await sendMany(sender, a, b, 40);
    const receiver = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);

    const gap = await syncRange(receiver, conversationId, 7, 19);
    expect(gap.messages.map((m) => m.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 7));
    expect(gap).toMatchObject({ conversationId, startSeq: 7, endSeq: 19 });
    expect(gap.hasMore ?? false).toBe(false);

    const firstPage = await syncRange(receiver, conversationId, 10, 0, 15);
    expect(firstPage.messages.map((m) => m.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
    expect(firstPage).toMatchObject({ endSeq: 24, hasMore: true });
    const rest = await syncRange(receiver, conversationId, 25, 0, 100);
    expect(rest.messages.map((m) => m.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 25));
    expect(rest.hasMore ?? false).toBe(false);
    expect(rest.endSeq).toBe(40);
    sender.close();
    receiver.close();
  });

  it("refuses SYNC_RANGE on a conversation the user is not in", async () => {
    const [a, b, eve] = [await newUser("a"), await newUser("b"), await newUser("eve")];
    const sender = await TestSocket.connect(a);
    await sendMany(sender, a, b, 3);
    const spy = await TestSocket.connect(eve);
    const response = await syncRange(spy, singleConversationId(a.userId, b.userId), 1, 0);
    expect(response.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(response.messages).toHaveLength(0);
    sender.close();
    spy.close();
  });
});

describe("history in D1", () => {
  it("copies every message to D1 when the conversation's alarm runs", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const acks = await sendMany(sender, a, b, 30);
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    // Run the alarm now instead of waiting for it: it flushes the outbox in one batch.
    while (await runDurableObjectAlarm(stub));
    const rows = await (
      await historyD1(conversationId)
    )
      .prepare(
        "SELECT seq, server_msg_id, sender_id, receiver_id, content FROM messages WHERE conversation_id = ? ORDER BY seq",
      )
      .bind(conversationId)
      .all<{
        seq: number;
        server_msg_id: string;
        sender_id: string;
        receiver_id: string;
        content: ArrayBuffer;
      }>();
    expect(rows.results.map((r) => r.seq)).toEqual(acks.map((ack) => ack.seq));
    expect(rows.results.map((r) => r.server_msg_id)).toEqual(acks.map((ack) => ack.serverMsgId));
    expect(rows.results[0]).toMatchObject({ sender_id: a.userId, receiver_id: b.userId });
    expect(text(new Uint8Array(rows.results[29]!.content))).toBe("msg 30");
    const conversation = await env.DB.prepare(
      "SELECT type, member_a, member_b FROM conversations WHERE id = ?",
    )
      .bind(conversationId)
      .first();
    expect(conversation).toMatchObject({ type: 1 });
    sender.close();
  });
});

describe("a sync that meets a failing or huge conversation", () => {
  it("answers the other conversations when one cannot be read, and says that one is behind", async () => {
    const [me, x, y] = [await newUser("me"), await newUser("x"), await newUser("y")];
    for (const peer of [x, y]) {
      const socket = await TestSocket.connect(peer);
      await socket.sendText(peer.userId, me.userId, `from ${peer.username}`);
      socket.close();
    }
    const broken = singleConversationId(x.userId, me.userId);
    const fine = singleConversationId(y.userId, me.userId);
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName(broken), (instance) => {
      (instance as unknown as { read: () => never }).read = () => {
        throw new Error("this conversation cannot be read");
      };
    });
    const device = await TestSocket.connect(me);
    const answer = await batchSync(device, [
      { conversationId: broken, lastSeq: 0 },
      { conversationId: fine, lastSeq: 0 },
    ]);
    expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const entries = new Map(answer.conversationMessages.map((c) => [c.conversationId, c]));
    expect(entries.get(fine)?.messages?.map((m) => text(m.content))).toEqual([`from ${y.username}`]);
    expect(entries.get(broken)).toMatchObject({ hasMore: true });
    expect(entries.get(broken)?.messages ?? []).toEqual([]);
    expect(Number(entries.get(broken)?.syncedSeq)).toBe(0);
    device.close();
  });

  it("answers a range of 500 messages of 64 KiB (32 MB) with the part that fits one frame", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationId = singleConversationId(a.userId, b.userId);
    const sender = await TestSocket.connect(a);
    const big = "z".repeat(64 * 1024 - 16);
    for (let burst = 0; burst < 10; burst++)
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => sender.sendText(a.userId, b.userId, `${burst}.${i} ${big}`)),
      );
    const reader = await TestSocket.connect(b);
    const page = await syncRange(reader, conversationId, 1, 0, 500);
    expect(page.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(page.hasMore).toBe(true);
    expect(page.messages?.length).toBeGreaterThan(5);
    expect(Number(page.endSeq)).toBe(page.messages?.length);
    sender.close();
    reader.close();
  }, 120_000);
});
