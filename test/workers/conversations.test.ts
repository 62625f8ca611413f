import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser, refusal, type TestUser } from "./helpers/http";
import { readReceipt } from "./helpers/protocol";
import { connectRich, edit, ok, pin, react } from "./helpers/rich-wire";
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

/**
 * Rich changes (react, edit, pin: docs/RICH-MESSAGES.md) are not messages: the model ignores them,
 * and the unread counts and inbox seqs must come out as it says all the same.
 */
type Step =
  | { kind: "send"; from: number; to: number }
  | { kind: "read"; user: number; device: number; peer: number }
  | { kind: "reconnect"; user: number; device: number }
  | { kind: "react" | "edit" | "pin"; user: number; peer: number; choice: number };

/** What the rich steps act on: each conversation's newest message, and each user's own newest. */
class LastMessages {
  private readonly newest = new Map<string, string>();
  private readonly ownNewest = new Map<string, { id: string; edits: number }>();
  private readonly pinned = new Map<string, Set<string>>();
  private readonly reactions = new Map<string, Set<string>>();

  sent(from: string, id: string, serverMsgId: string): void {
    this.newest.set(id, serverMsgId);
    this.ownNewest.set(`${from}|${id}`, { id: serverMsgId, edits: 0 });
  }

  newestIn(id: string): string | undefined {
    return this.newest.get(id);
  }

  /** The user's newest message here while it may still be edited (20 edits at most). */
  editable(user: string, id: string): { id: string; edits: number } | undefined {
    const own = this.ownNewest.get(`${user}|${id}`);
    return own && own.edits < 20 ? own : undefined;
  }

  /** Pins a message not pinned, unpins one pinned: whether to unpin, or null past 10 pins. */
  togglePin(id: string, serverMsgId: string): boolean | null {
    const pins = this.pinned.get(id) ?? new Set<string>();
    this.pinned.set(id, pins);
    if (pins.delete(serverMsgId)) return true;
    if (pins.size >= 10) return null;
    pins.add(serverMsgId);
    return false;
  }

  /** Adds the emoji, or takes it back when the user already reacted with it: whether to remove. */
  toggleReaction(user: string, serverMsgId: string, emoji: string): boolean {
    const key = `${user}|${serverMsgId}`;
    const mine = this.reactions.get(key) ?? new Set<string>();
    this.reactions.set(key, mine);
    if (mine.delete(emoji)) return true;
    mine.add(emoji);
    return false;
  }
}

const user = fc.integer({ min: 0, max: 2 });
const device = fc.integer({ min: 0, max: 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("send" as const), from: user, to: user }).filter((s) => s.from !== s.to),
  fc
    .record({ kind: fc.constant("read" as const), user, device, peer: user })
    .filter((s) => s.user !== s.peer),
  fc.record({ kind: fc.constant("reconnect" as const), user, device }),
  fc
    .record({
      kind: fc.constantFrom("react" as const, "edit" as const, "pin" as const),
      user,
      peer: user,
      choice: fc.integer({ min: 0, max: 3 }),
    })
    .filter((s) => s.user !== s.peer),
);

const EMOJIS = ["👍", "❤️", "😂", "🎉"];

describe("unread counts", () => {
  it("stay exact after random sends, reads, reconnects, reactions, edits and pins across 3 users on 2 devices each", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
        const users = [await newUser("p"), await newUser("q"), await newUser("r")];
        // The first device is the SDK's, the second declares rich_messages and makes the rich changes.
        const platforms = ["iOS", "Android"];
        const connectDevice = (u: TestUser, d: number) =>
          d === 0 ? TestSocket.connect(u, platforms[0]) : connectRich(u, platforms[1]);
        const devices = await Promise.all(
          users.map((u) => Promise.all([0, 1].map((d) => connectDevice(u, d)))),
        );
        const model = new UnreadModel();
        const last = new LastMessages();
        try {
          for (const s of steps) {
            if (s.kind === "send") {
              const from = users[s.from]!;
              const to = users[s.to]!;
              const ack = await devices[s.from]![0]!.sendText(from.userId, to.userId, "x");
              expect(ack.errorCode ?? 0).toBe(0);
              model.send(from.userId, to.userId);
              last.sent(from.userId, singleConversationId(from.userId, to.userId), ack.serverMsgId!);
            } else if (s.kind === "read") {
              const reader = users[s.user]!;
              const id = singleConversationId(reader.userId, users[s.peer]!.userId);
              const response = await readReceipt(devices[s.user]![s.device]!, id);
              expect(response.errorCode ?? 0).toBe(0);
              model.read(reader.userId, id);
            } else if (s.kind === "reconnect") {
              const socket = devices[s.user]![s.device]!;
              socket.close();
              await socket.closed;
              devices[s.user]![s.device] = await connectDevice(users[s.user]!, s.device);
            } else {
              const actor = users[s.user]!;
              const rich = devices[s.user]![1]!;
              const id = singleConversationId(actor.userId, users[s.peer]!.userId);
              const target = last.newestIn(id);
              // The actor's object must hold the message first (its inbox is how it knows the
              // conversation is the actor's, membership.ts), as a device that shows it does.
              if (target)
                await expect
                  .poll(
                    async () =>
                      (await list(actor, "?limit=100")).conversations.find((x) => x.conversationID === id)
                        ?.maxSeq,
                  )
                  .toBe(model.maxSeq.get(id));
              if (s.kind === "react" && target) {
                const emoji = EMOJIS[s.choice]!;
                const remove = last.toggleReaction(actor.userId, target, emoji);
                expect(ok(await react(rich, id, target, emoji, remove))).toBe(0);
              } else if (s.kind === "edit") {
                const own = last.editable(actor.userId, id);
                if (own) {
                  expect(ok(await edit(rich, id, own.id, `edited ${++own.edits}`))).toBe(0);
                }
              } else if (s.kind === "pin" && target) {
                const unpin = last.togglePin(id, target);
                if (unpin !== null) expect(ok(await pin(rich, id, target, unpin))).toBe(0);
              }
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
