import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser, refusal, type TestUser } from "./helpers/http";
import { readReceipt } from "./helpers/protocol";
import { TestSocket } from "./helpers/socket";

interface ConversationJson {
  conversationID: string;
  conversationType: number;
  userID: string;
  showName: string;
  latestMsg: string;
  unreadCount: number;
  isPinned: boolean;
  isMuted: boolean;
  maxSeq: number;
  readSeq: number;
}

async function list(user: TestUser, query = "") {
  const response = await api<{ conversations: ConversationJson[]; nextOffset: number | null }>(
    `/api/conversations${query}`,
    { token: user.token },
  );
  expect(response.body.code).toBe(0);
  return response.body.data!;
}

describe("conversation list over HTTP", () => {
  it("lists conversations by last activity with the last message and unread from max_seq − read_seq", async () => {
    const [me, b, c] = [await newUser("me"), await newUser("b"), await newUser("c")];
    const bSocket = await TestSocket.connect(b);
    const cSocket = await TestSocket.connect(c);
    await bSocket.sendText(b.userId, me.userId, "from b 1");
    await bSocket.sendText(b.userId, me.userId, "from b 2");
    await cSocket.sendText(c.userId, me.userId, "from c");
    await expect.poll(async () => (await list(me)).conversations.length).toBe(2);

    const { conversations, nextOffset } = await list(me);
    expect(nextOffset).toBeNull();
    expect(conversations.map((x) => x.conversationID)).toEqual([
      singleConversationId(c.userId, me.userId),
      singleConversationId(b.userId, me.userId),
    ]);
    const fromB = conversations[1]!;
    expect(fromB).toMatchObject({
      conversationType: 1,
      userID: b.userId,
      showName: b.username,
      unreadCount: 2,
      maxSeq: 2,
    });
    expect(JSON.parse(fromB.latestMsg)).toMatchObject({
      content: "from b 2",
      senderID: b.userId,
      direction: 2,
      seq: 2,
    });

    const page = await list(me, "?limit=1");
    expect(page.conversations).toHaveLength(1);
    expect(page.nextOffset).toBe(1);
    bSocket.close();
    cSocket.close();
  });

  it("pins, mutes, clears unread, and hides a deleted conversation until its next message", async () => {
    const [me, b, c] = [await newUser("me"), await newUser("b"), await newUser("c")];
    const bSocket = await TestSocket.connect(b);
    const cSocket = await TestSocket.connect(c);
    await bSocket.sendText(b.userId, me.userId, "older");
    await cSocket.sendText(c.userId, me.userId, "newer");
    const withB = singleConversationId(b.userId, me.userId);
    await expect.poll(async () => (await list(me)).conversations.length).toBe(2);

    const pinned = await api<ConversationJson>(`/api/conversations/${withB}/pin`, {
      body: { pinned: true },
      token: me.token,
    });
    expect(pinned.body.data).toMatchObject({ conversationID: withB, isPinned: true });
    expect((await list(me)).conversations[0]!.conversationID).toBe(withB);

    const muted = await api<ConversationJson>(`/api/conversations/${withB}/mute`, {
      body: { muted: true },
      token: me.token,
    });
    expect(muted.body.data!.isMuted).toBe(true);

    const read = await api<ConversationJson>(`/api/conversations/${withB}/read`, {
      method: "POST",
      token: me.token,
    });
    expect(read.body.data).toMatchObject({ unreadCount: 0, readSeq: 1 });

    const deleted = await api(`/api/conversations/${withB}/delete`, { method: "POST", token: me.token });
    expect(deleted.body).toMatchObject({ code: 0, data: null });
    expect((await list(me)).conversations.map((x) => x.conversationID)).not.toContain(withB);
    await bSocket.sendText(b.userId, me.userId, "back again");
    await expect
      .poll(async () => (await list(me)).conversations.map((x) => x.conversationID))
      .toContain(withB);
    bSocket.close();
    cSocket.close();
  });

  it("refuses bad ids, unknown conversations, bad bodies and missing tokens", async () => {
    const me = await newUser("me");
    expect((await api("/api/conversations")).status).toBe(401);
    expect(refusal(await api("/api/conversations/not-an-id", { token: me.token }))).toBe(400);
    const unknown = singleConversationId(me.userId, "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    expect(refusal(await api(`/api/conversations/${unknown}`, { token: me.token }))).toBe(404);
    const badBody = await api(`/api/conversations/${unknown}/pin`, {
      body: { pinned: "yes" },
      token: me.token,
    });
    expect(refusal(badBody)).toBe(400);
    expect(refusal(await api("/api/conversations?limit=0", { token: me.token }))).toBe(400);
  });
});

/** The reference model: per conversation its max seq, per (user, conversation) the read watermark. */
class UnreadModel {
  readonly maxSeq = new Map<string, number>();
  readonly readSeq = new Map<string, number>();

  send(from: string, to: string): void {
    const id = singleConversationId(from, to);
    const seq = (this.maxSeq.get(id) ?? 0) + 1;
    this.maxSeq.set(id, seq);
    // Sending a message means having read the conversation up to it.
    this.readSeq.set(`${from}|${id}`, seq);
  }

  read(user: string, id: string): void {
    this.readSeq.set(`${user}|${id}`, this.maxSeq.get(id) ?? 0);
  }

  unread(user: string, id: string): number {
    return (this.maxSeq.get(id) ?? 0) - (this.readSeq.get(`${user}|${id}`) ?? 0);
  }
}

type Step =
  | { kind: "send"; from: number; to: number }
  | { kind: "read"; user: number; device: number; peer: number }
  | { kind: "reconnect"; user: number; device: number };

const user = fc.integer({ min: 0, max: 2 });
const device = fc.integer({ min: 0, max: 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("send" as const), from: user, to: user }).filter((s) => s.from !== s.to),
  fc
    .record({ kind: fc.constant("read" as const), user, device, peer: user })
    .filter((s) => s.user !== s.peer),
  fc.record({ kind: fc.constant("reconnect" as const), user, device }),
);

describe("unread counts", () => {
  it("stay exact after random sends, reads and reconnects across 3 users on 2 devices each", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
        const users = [await newUser("p"), await newUser("q"), await newUser("r")];
        const platforms = ["iOS", "Android"];
        const devices = await Promise.all(
          users.map((u) => Promise.all(platforms.map((p) => TestSocket.connect(u, p)))),
        );
        const model = new UnreadModel();
        try {
          for (const s of steps) {
            if (s.kind === "send") {
              const from = users[s.from]!;
              const to = users[s.to]!;
              const ack = await devices[s.from]![0]!.sendText(from.userId, to.userId, "x");
              expect(ack.errorCode ?? 0).toBe(0);
              model.send(from.userId, to.userId);
            } else if (s.kind === "read") {
              const reader = users[s.user]!;
              const id = singleConversationId(reader.userId, users[s.peer]!.userId);
              const response = await readReceipt(devices[s.user]![s.device]!, id);
              expect(response.errorCode ?? 0).toBe(0);
              model.read(reader.userId, id);
            } else {
              const socket = devices[s.user]![s.device]!;
              socket.close();
              await socket.closed;
              devices[s.user]![s.device] = await TestSocket.connect(users[s.user]!, platforms[s.device]);
            }
          }
          // Deliveries are asynchronous: wait until every inbox has every message, then compare.
          for (const u of users) {
            const expected = [...model.maxSeq.keys()].filter((id) => id.includes(u.userId)).sort();
            await expect
              .poll(async () =>
                (await list(u, "?limit=100")).conversations
                  .map((x) => `${x.conversationID}:${x.maxSeq}`)
                  .sort(),
              )
              .toEqual(expected.map((id) => `${id}:${model.maxSeq.get(id)}`));
            for (const x of (await list(u, "?limit=100")).conversations) {
              expect(x.unreadCount, `${u.username} in ${x.conversationID}`).toBe(
                model.unread(u.userId, x.conversationID),
              );
            }
          }
        } finally {
          for (const row of devices) for (const socket of row) socket.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
