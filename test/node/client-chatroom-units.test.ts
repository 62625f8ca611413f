// The chatroom client's pure parts (no server): the timeline's order, repeats, gap fill and skips,
// the ack cadence, the room socket's address, and the HTTP shapes.
import { afterEach, describe, expect, it, vi } from "vitest";
import { AckCadence } from "../../src/client/chatroom-acks.ts";
import { chatroomEndpoint } from "../../src/client/chatroom.ts";
import {
  createBody,
  readChatroom,
  roomPath,
  type ChatroomMessage,
} from "../../src/client/chatroom-shapes.ts";
import { ChatroomTimeline, type HistoryPage } from "../../src/client/chatroom-timeline.ts";
import { Outbox, RESUME_WINDOW } from "../../src/client/outbox.ts";

const message = (seq: number): ChatroomMessage => ({
  roomId: "r1",
  serverMsgId: `m${seq}`,
  clientMsgId: `c${seq}`,
  senderId: "u1",
  seq,
  messageType: 1,
  content: new TextEncoder().encode(`#${seq}`),
  text: `#${seq}`,
  serverTime: seq,
});
const messages = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => message(from + i));

/** A timeline over a room that keeps seqs `kept.from`..`kept.to`, recording what it does. */
function timelineOver(kept: { from: number; to: number }) {
  const delivered: number[] = [];
  const batches: number[][] = [];
  const asked: number[] = [];
  const skipped: [number, number][] = [];
  const failures: unknown[] = [];
  let settle: () => void = () => {};
  const timeline = new ChatroomTimeline({
    history: async (afterSeq, limit): Promise<HistoryPage> => {
      asked.push(afterSeq);
      const from = Math.max(afterSeq + 1, kept.from);
      const to = Math.min(kept.to, from + limit - 1);
      const page = from <= to ? messages(from, to) : [];
      return { messages: page, hasMore: to < kept.to };
    },
    deliver: (run) => {
      delivered.push(...run.map((m) => m.seq));
      batches.push(run.map((m) => m.seq));
      settle();
    },
    skipped: (from, to) => skipped.push([from, to]),
    failed: (error) => failures.push(error),
  });
  /** Resolves once `n` seqs were delivered. */
  const untilDelivered = (n: number) =>
    new Promise<void>((resolve) => {
      settle = () => delivered.length >= n && resolve();
      settle();
    });
  return { timeline, delivered, batches, asked, skipped, failures, untilDelivered };
}

describe("ChatroomTimeline", () => {
  it("starts a first join at its recent messages and delivers pushes after them once, in order", () => {
    const t = timelineOver({ from: 1, to: 60 });
    t.timeline.offer(messages(1, 3)); // before the join: ignored, the join's recent ones come first
    t.timeline.joined(60, messages(11, 60));
    t.timeline.offer([message(60), message(61), message(61), message(59)]);
    t.timeline.offer([message(62)]);
    expect(t.delivered).toEqual([...Array.from({ length: 50 }, (_, i) => 11 + i), 61, 62]);
    expect(t.batches.length).toBe(3);
    expect(t.timeline.cursor).toBe(62);
    expect(t.asked).toEqual([]);
  });

  it("fills a hole with HISTORY_REQ pages and delivers what was held after it", async () => {
    const t = timelineOver({ from: 1, to: 700 });
    t.timeline.joined(0, []);
    t.timeline.offer([message(1)]);
    t.timeline.offer([message(700)]); // 2..699 are missing
    expect(t.timeline.waiting).toBe(1);
    await t.untilDelivered(700);
    expect(t.delivered).toEqual(messages(1, 700).map((m) => m.seq));
    expect(t.asked).toEqual([1, 201, 401, 601]); // pages of 200 after the cursor
    expect(t.skipped).toEqual([]);
    expect(t.timeline.waiting).toBe(0);
  });

  it("resumes a rejoin from its cursor up to the join's max_seq", async () => {
    const t = timelineOver({ from: 1, to: 120 });
    t.timeline.joined(5, messages(1, 5));
    t.timeline.joined(120, messages(71, 120)); // a rejoin: 6..70 came while away
    await t.untilDelivered(120);
    expect(t.delivered).toEqual(messages(1, 120).map((m) => m.seq));
    expect(t.asked).toEqual([5]);
  });

  it("passes over seqs the room no longer keeps, reporting them, and never stalls", async () => {
    const t = timelineOver({ from: 501, to: 1_000 }); // the room keeps its newest 500
    t.timeline.joined(10, messages(1, 10));
    t.timeline.offer([message(1_000)]);
    await t.untilDelivered(10 + 500);
    expect(t.skipped).toEqual([[11, 500]]);
    expect(t.delivered.slice(10)).toEqual(messages(501, 1_000).map((m) => m.seq));
    expect(t.timeline.cursor).toBe(1_000);
  });

  it("reports a failed fill and fills again at the next join", async () => {
    let fail = true;
    const delivered: number[] = [];
    const failures: unknown[] = [];
    let done: () => void = () => {};
    const timeline = new ChatroomTimeline({
      history: async (afterSeq) => {
        if (fail) throw new Error("socket closed");
        return { messages: messages(afterSeq + 1, 5), hasMore: false };
      },
      deliver: (run) => {
        delivered.push(...run.map((m) => m.seq));
        if (delivered.length === 5) done();
      },
      skipped: () => {},
      failed: (error) => {
        failures.push(error);
        done();
      },
    });
    let settled = new Promise<void>((resolve) => (done = resolve));
    timeline.joined(0, []);
    timeline.offer([message(1), message(5)]);
    await settled;
    expect(failures.length).toBe(1);
    expect(delivered).toEqual([1]);
    fail = false;
    settled = new Promise<void>((resolve) => (done = resolve));
    timeline.joined(5, []);
    await settled;
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("AckCadence", () => {
  afterEach(() => vi.useRealTimers());

  it("acknowledges at every 100th message, and 2 s after an unacknowledged one", () => {
    vi.useFakeTimers();
    let acks = 0;
    const cadence = new AckCadence(() => acks++);
    cadence.delivered(99);
    expect(acks).toBe(0);
    cadence.delivered(1);
    expect(acks).toBe(1);
    cadence.delivered(250); // one ack covers a big batch
    expect(acks).toBe(2);
    cadence.delivered(3);
    vi.advanceTimersByTime(1_999);
    expect(acks).toBe(2);
    vi.advanceTimersByTime(1);
    expect(acks).toBe(3);
    vi.advanceTimersByTime(10_000); // nothing new: no ack
    expect(acks).toBe(3);
    cadence.delivered(1);
    cadence.cancel(); // the socket closed
    vi.advanceTimersByTime(10_000);
    expect(acks).toBe(3);
  });
});

describe("chatroom addresses and shapes", () => {
  it("puts the room under /ws and the tokens in the query, or the access token in a subprotocol", () => {
    expect(chatroomEndpoint("ws://h:8787/ws", "R1", "jwt", "jt+/=", "query")).toEqual([
      "ws://h:8787/ws/chatroom/R1?token=jwt&join=jt%2B%2F%3D",
      [],
    ]);
    expect(chatroomEndpoint("wss://h/base/ws/", "R1", "jwt", undefined, "subprotocol")).toEqual([
      "wss://h/base/ws/chatroom/R1",
      ["im.v1", "token.jwt"],
    ]);
  });

  it("refuses bad names, access and room ids before any round trip", () => {
    expect(createBody({ name: "  Launch  " })).toEqual({ name: "Launch", access: "open" });
    expect(() => createBody({ name: " " })).toThrow(/1 to 64/);
    expect(() => createBody({ name: "x".repeat(65) })).toThrow(/1 to 64/);
    expect(() => createBody({ name: "x", access: "secret" as "open" })).toThrow(/access/);
    expect(roomPath("01HX-a", "/tokens")).toBe("/api/chatrooms/01HX-a/tokens");
    expect(() => roomPath("../admin")).toThrow(/not a room id/);
  });

  it("reads a room field by field", () => {
    const room = { id: "r1", name: "Hall", access: "token", creatorId: "u1", createdAt: 5 };
    expect(readChatroom({ chatroom: { ...room, listeners: 7 } })).toEqual({ ...room, listeners: 7 });
    expect(readChatroom({ chatroom: room, listeners: 3 }).listeners).toBe(3);
    expect(() => readChatroom({ chatroom: { ...room, access: "secret" } })).toThrow(/access/);
    expect(() => readChatroom({ chatroom: { ...room, id: 5 } })).toThrow(/id/);
  });
});

describe("Outbox", () => {
  it("sends what waited for a reconnect RESUME_WINDOW at a time, the rest as answers come back", async () => {
    let online = false;
    const wire: string[] = [];
    const outbox = new Outbox<{ clientMsgId: string; conversationId: string }>({
      command: 1001,
      ackTimeoutMs: 60_000,
      maxAttempts: 3,
      transmit: (send) => {
        if (!online) return false;
        wire.push(send.clientMsgId);
        return true;
      },
      acked: () => {},
    });
    const answer = (clientMsgId: string) =>
      outbox.handle({ clientMsgId, serverMsgId: `s-${clientMsgId}`, seq: 1, serverTime: 1 });
    const ids = Array.from({ length: RESUME_WINDOW + 5 }, (_, i) => `c${i}`);
    const results = ids.map((clientMsgId) => outbox.send({ clientMsgId, conversationId: "chatroom_r" }));
    expect(wire).toEqual([]);
    online = true;
    outbox.resume();
    expect(wire).toEqual(ids.slice(0, RESUME_WINDOW));
    // A new send waits behind the backlog.
    const late = outbox.send({ clientMsgId: "late", conversationId: "chatroom_r" });
    expect(wire).toHaveLength(RESUME_WINDOW);
    answer("c0");
    expect(wire.at(-1)).toBe(`c${RESUME_WINDOW}`);
    for (const id of [...ids.slice(1), "late"]) answer(id);
    expect(wire).toEqual([...ids, "late"]);
    await Promise.all([...results, late]);
    expect(outbox.size).toBe(0);
  });
});
