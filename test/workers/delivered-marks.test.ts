// Delivered marks (src/objects/user/delivered-marks.ts) stay in the receiver's object: an ack calls
// no other object. A quiet user's mark is written at the end of its turn, a busy user's gathered for
// a second; a group's acks mark nothing. The sender's sync asks the receiver's object
// (src/objects/conversation/peer-delivered.ts), so the status is what the devices acked, even after
// the receiver's object lost its memory.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DELIVERED_FLUSH_MS, DeliveredMarks } from "../../src/objects/user/delivered-marks";
import { MessageStatus } from "../../src/objects/message";
import { Cmd, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";
import { syncRange } from "./helpers/protocol";

afterEach(() => {
  vi.useRealTimers();
});

const storedMarks = (sql: SqlStorage) =>
  sql
    .exec<{ conversation_id: string; seq: number }>("SELECT conversation_id, seq FROM delivered_marks")
    .toArray()
    .map((r) => ({ ...r }));

describe("delivered marks", () => {
  it("are written in the user's own object at the end of the turn when quiet, gathered for a second when busy", async () => {
    await runInDurableObject(env.USER_OBJECT.getByName("marks-user"), async (_instance, state) => {
      const sql = state.storage.sql;
      vi.useFakeTimers({ now: 1_000_000 });
      const marks = new DeliveredMarks(sql);
      // Quiet: two acks in one turn, one row, with no second's wait.
      marks.mark("single_x_y", 1);
      marks.mark("single_x_y", 2);
      expect(marks.seqOf("single_x_y")).toBe(2); // answered from memory before it is written
      await vi.advanceTimersByTimeAsync(0);
      expect(storedMarks(sql)).toEqual([{ conversation_id: "single_x_y", seq: 2 }]);
      // Busy: acks within the second after a write wait for the rest of it, gathered.
      await vi.advanceTimersByTimeAsync(200);
      marks.mark("single_x_y", 3);
      marks.mark("single_x_y", 4);
      await vi.advanceTimersByTimeAsync(DELIVERED_FLUSH_MS - 200 - 1);
      expect(storedMarks(sql)).toEqual([{ conversation_id: "single_x_y", seq: 2 }]);
      expect(marks.seqOf("single_x_y")).toBe(4);
      await vi.advanceTimersByTimeAsync(1);
      expect(storedMarks(sql)).toEqual([{ conversation_id: "single_x_y", seq: 4 }]);
      // A lower mark (an older sync answered late) never moves it back.
      await vi.advanceTimersByTimeAsync(5 * DELIVERED_FLUSH_MS);
      marks.mark("single_x_y", 3);
      await vi.advanceTimersByTimeAsync(0);
      // What was written is what an instance after an eviction answers.
      expect(new DeliveredMarks(sql).seqOf("single_x_y")).toBe(4);
      expect(new DeliveredMarks(sql).seqOf("single_x_z")).toBe(0);
    });
  });

  it("are not kept for a group's acks: no row and no timer for each member of each message", async () => {
    await runInDurableObject(env.USER_OBJECT.getByName("marks-group-user"), async (_instance, state) => {
      vi.useFakeTimers({ now: 1_000_000 });
      const marks = new DeliveredMarks(state.storage.sql);
      marks.mark("group_g1", 1);
      marks.mark("group_g1", 2);
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(5 * DELIVERED_FLUSH_MS);
      expect(storedMarks(state.storage.sql)).toEqual([]);
    });
  });

  it("call no object at an ack; the sender's sync asks the receiver's object once and keeps the answer", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    const ack = await sender.sendText(a.userId, b.userId, "ping");
    const [pushed] = await receiver.pushedMessages(1);
    receiver.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: pushed!.serverMsgId, seq: pushed!.seq });
    const receiverObject = env.USER_OBJECT.getByName(b.userId);
    await expect
      .poll(() => runInDurableObject(receiverObject, (_i, state) => storedMarks(state.storage.sql)))
      .toEqual([{ conversation_id: conversationId, seq: ack.seq }]);
    // The conversation was not told: its row for the receiver still says nothing was delivered.
    const conversationObject = env.CONVERSATION_OBJECT.getByName(conversationId);
    const deliveredSeqThere = () =>
      runInDurableObject(
        conversationObject,
        (_i, state) =>
          state.storage.sql
            .exec<{ delivered_seq: number }>("SELECT delivered_seq FROM members WHERE user_id = ?", b.userId)
            .toArray()[0]?.delivered_seq,
      );
    expect(await deliveredSeqThere()).toBe(0);
    // The sender's sync shows it delivered, and the conversation keeps what it learned.
    const status = async () =>
      (await syncRange(sender, conversationId, ack.seq!, ack.seq!)).messages?.[0]?.status;
    expect(await status()).toBe(MessageStatus.delivered);
    expect(await deliveredSeqThere()).toBe(ack.seq);
    // Kept: with the receiver's mark gone, a later sync still shows it (no second ask answered it).
    await runInDurableObject(receiverObject, (_i, state) => {
      state.storage.sql.exec("DELETE FROM delivered_marks");
    });
    expect(await status()).toBe(MessageStatus.delivered);
    sender.close();
    receiver.close();
  });

  it("asks about each peer on its own: both members' syncs, a moment apart, show what the other acked", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const [sa, sb] = [await TestSocket.connect(a), await TestSocket.connect(b)];
    const conversationId = singleConversationId(a.userId, b.userId);
    const fromA = await sa.sendText(a.userId, b.userId, "from a");
    const fromB = await sb.sendText(b.userId, a.userId, "from b");
    const [toB] = await sb.pushedMessages(1);
    const [toA] = await sa.pushedMessages(1);
    sb.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: toB!.serverMsgId, seq: toB!.seq });
    sa.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: toA!.serverMsgId, seq: toA!.seq });
    for (const [user, seq] of [
      [b.userId, fromA.seq],
      [a.userId, fromB.seq],
    ] as const) {
      await expect
        .poll(() =>
          runInDurableObject(env.USER_OBJECT.getByName(user), (_i, state) => storedMarks(state.storage.sql)),
        )
        .toEqual([{ conversation_id: conversationId, seq }]);
    }
    // A's sync asks B's object; B's, right after, must ask A's, not be held back by A's ask.
    const statusOf = async (socket: TestSocket, seq: number) =>
      (await syncRange(socket, conversationId, seq, seq)).messages?.[0]?.status;
    expect(await statusOf(sa, fromA.seq!)).toBe(MessageStatus.delivered);
    expect(await statusOf(sb, fromB.seq!)).toBe(MessageStatus.delivered);
    sa.close();
    sb.close();
  });
});
