// Rich messages through the client SDK against a real `wrangler dev`: replies (the quote filled in
// by the server, the thread), mentions (and @all's role), reactions, edits (and their history),
// pins, forwards, each seen on the other side live and refused with its code where it must be; and
// a device that was offline catching up through CHANGES_REQ, with unread counts untouched.
import { describe, expect, it } from "vitest";
import { ErrorCode, type Message, type PinsEvent } from "edge-im/client";
import { account, Cmd, pb, until, untilMessages, type Recorded, sharedServer } from "./helpers/sdk-harness";

const shared = sharedServer();
const { connected } = shared;

/** Every `updated` and `pins` event of a client, recorded from now on. */
function watch(r: Recorded) {
  const updated: Message[] = [];
  const pins: PinsEvent[] = [];
  r.client.on("updated", (m) => updated.push(m));
  r.client.on("pins", (e) => pins.push(e));
  return { updated, pins };
}

/** Waits for the stored message `serverMsgId` to satisfy `ok`, reading the store again after each `updated` event. */
async function untilStored(
  r: Recorded,
  conversationId: string,
  serverMsgId: string,
  ok: (m: Message) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let wake = () => {};
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const off = r.client.on("updated", () => wake()); // before reading: no event slips between
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const found = (await r.client.getMessages(conversationId)).find((m) => m.serverMsgId === serverMsgId);
      if (found && ok(found)) return found;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
          Math.max(0, deadline - Date.now()),
        );
      });
      await Promise.race([changed, late]);
    } finally {
      clearTimeout(timer);
      off();
    }
  }
}

function refusal(code: number) {
  return expect.objectContaining({ name: "IMProtocolError", code });
}

/** A group of alice (owner), bob and carol, with its conversation id. */
async function team() {
  const [alice, bob, carol] = await Promise.all([connected("alice"), connected("bob"), connected("carol")]);
  const group = await alice.client.groups.create({
    groupName: "Rich",
    memberUserIDs: [bob.userId, carol.userId],
  });
  return { alice, bob, carol, conversationId: `group_${group.groupID}` };
}

async function received(r: Recorded, serverMsgId: string, what: string): Promise<Message> {
  await until(r, "message", () => r.timeline.some((m) => m.serverMsgId === serverMsgId), what);
  return r.timeline.find((m) => m.serverMsgId === serverMsgId)!;
}

describe("rich messages through the client", () => {
  it("replies with the quote filled in, counts the root's replies, lists the thread, and refuses a bad quote", async () => {
    const { alice, bob, conversationId } = await team();
    const bobWatch = watch(bob);
    const root = await bob.client.send({ conversationId, content: "what time is the meeting?" });
    await received(alice, root.serverMsgId, "bob's question");

    const reply = await alice.client.send({ conversationId, content: "at five", replyTo: root.serverMsgId });
    const seen = await received(bob, reply.serverMsgId, "alice's reply");
    const quote = {
      serverMsgId: root.serverMsgId,
      seq: root.seq,
      senderId: bob.userId,
      messageType: 1,
      snippet: "what time is the meeting?",
      revoked: false,
    };
    expect(seen.replyTo).toEqual(quote);
    // Alice's own copy was read back after the ack: it has the server's quote, not just an id.
    const mine = await received(alice, reply.serverMsgId, "alice's own reply");
    expect(mine.replyTo).toEqual(quote);
    expect(
      (await alice.client.getMessages(conversationId)).find((m) => m.seq === reply.seq)?.replyTo,
    ).toEqual(quote);

    // The root's reply count is a change, pushed to bob and applied to his store.
    const counted = await untilStored(
      bob,
      conversationId,
      root.serverMsgId,
      (m) => m.replyCount === 1,
      "reply count",
    );
    expect(counted.text).toBe("what time is the meeting?");
    expect(bobWatch.updated.some((m) => m.serverMsgId === root.serverMsgId && m.replyCount === 1)).toBe(true);

    const thread = await bob.client.thread(conversationId, root.serverMsgId);
    expect(thread.root?.serverMsgId).toBe(root.serverMsgId);
    expect(thread.replies.map((m) => [m.serverMsgId, m.text])).toEqual([[reply.serverMsgId, "at five"]]);
    expect(thread.hasMore).toBe(false);

    await expect(
      alice.client.send({ conversationId, content: "?", replyTo: "no-such-message" }),
    ).rejects.toEqual(refusal(ErrorCode.ERR_INVALID_PARAM));
    await expect(bob.client.thread(conversationId, "no-such-message")).rejects.toEqual(
      refusal(ErrorCode.ERR_INVALID_PARAM),
    );
  });

  it("mentions members, flags the mentioned reader's conversation until read, and keeps @all to the owner and admins", async () => {
    const { alice, bob, carol, conversationId } = await team();
    const outsider = await connected("dave");
    const sent = await carol.client.send({
      conversationId,
      content: "@Bob see this",
      mentions: [bob.userId],
    });
    const seen = await received(bob, sent.serverMsgId, "carol's mention");
    expect(seen).toMatchObject({ mentions: [bob.userId], mentionAll: false });

    const row = async (r: Recorded) =>
      (await r.client.conversations.list()).conversations.find((c) => c.conversationID === conversationId);
    expect(await row(bob)).toMatchObject({ mentioned: true });
    expect(await row(alice)).toMatchObject({ mentioned: false });
    await bob.client.markRead(conversationId);
    expect(await row(bob)).toMatchObject({ mentioned: false });

    await expect(carol.client.send({ conversationId, content: "@all hi", mentionAll: true })).rejects.toEqual(
      refusal(ErrorCode.ERR_PERMISSION_DENIED),
    );
    await expect(
      carol.client.send({ conversationId, content: "@Dave", mentions: [outsider.userId] }),
    ).rejects.toEqual(refusal(ErrorCode.ERR_INVALID_PARAM));
    const everyone = await alice.client.send({
      conversationId,
      content: "@all meeting at five",
      mentionAll: true,
    });
    expect(await received(carol, everyone.serverMsgId, "alice's @all")).toMatchObject({ mentionAll: true });
    expect(await row(carol)).toMatchObject({ mentioned: true });
  });

  it("reacts and takes a reaction back, seen by the others with who reacted, without touching unread counts", async () => {
    const { alice, bob, carol, conversationId } = await team();
    const outsider = await connected("dave");
    const m = await alice.client.send({ conversationId, content: "ship it?" });
    await received(bob, m.serverMsgId, "alice's question");
    await received(carol, m.serverMsgId, "alice's question");
    const unreadBefore = (await carol.client.conversations.list()).conversations.find(
      (c) => c.conversationID === conversationId,
    )?.unreadCount;

    expect(await bob.client.react(conversationId, m.serverMsgId, "👍")).toEqual([
      { emoji: "👍", count: 1, userIds: [bob.userId] },
    ]);
    // Bob's own store has it at once; alice's and carol's through the push.
    expect(
      (await bob.client.getMessages(conversationId)).find((x) => x.serverMsgId === m.serverMsgId)?.reactions,
    ).toEqual([{ emoji: "👍", count: 1, userIds: [bob.userId] }]);
    await carol.client.react(conversationId, m.serverMsgId, "👍");
    const both = { emoji: "👍", count: 2, userIds: [bob.userId, carol.userId] };
    await untilStored(
      alice,
      conversationId,
      m.serverMsgId,
      (x) => x.reactions[0]?.count === 2,
      "two 👍 at alice",
    );
    expect((await alice.client.getMessages(conversationId)).find((x) => x.seq === m.seq)?.reactions).toEqual([
      both,
    ]);

    await bob.client.react(conversationId, m.serverMsgId, "👍", { remove: true });
    const after = await untilStored(
      carol,
      conversationId,
      m.serverMsgId,
      (x) => x.reactions[0]?.count === 1,
      "one 👍 left",
    );
    expect(after.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [carol.userId] }]);

    await expect(outsider.client.react(conversationId, m.serverMsgId, "👍")).rejects.toEqual(
      refusal(ErrorCode.ERR_PERMISSION_DENIED),
    );
    await expect(bob.client.react(conversationId, m.serverMsgId, "not an emoji")).rejects.toEqual(
      refusal(ErrorCode.ERR_INVALID_PARAM),
    );
    const unreadAfter = (await carol.client.conversations.list()).conversations.find(
      (c) => c.conversationID === conversationId,
    )?.unreadCount;
    expect(unreadAfter).toBe(unreadBefore);
  });

  it("edits one's own message in place for everyone, keeps the history, and refuses another's", async () => {
    const { alice, bob, conversationId } = await team();
    const m = await alice.client.send({ conversationId, content: "meeting at 4" });
    const before = await received(bob, m.serverMsgId, "alice's message");
    expect(before.status).toBeGreaterThan(0);

    const edited = await alice.client.edit(conversationId, m.serverMsgId, "meeting at 5");
    expect(edited.editCount).toBe(1);
    expect(edited.editedTime).toBeGreaterThan(0);
    const atBob = await untilStored(
      bob,
      conversationId,
      m.serverMsgId,
      (x) => x.text === "meeting at 5",
      "the edit at bob",
    );
    expect(atBob).toMatchObject({ editCount: 1, editedTime: edited.editedTime, status: before.status });
    expect(await bob.client.editHistory(conversationId, m.serverMsgId)).toEqual([
      expect.objectContaining({ text: "meeting at 4" }),
    ]);

    await expect(bob.client.edit(conversationId, m.serverMsgId, "mine now")).rejects.toEqual(
      refusal(ErrorCode.ERR_PERMISSION_DENIED),
    );
    await expect(alice.client.edit(conversationId, m.serverMsgId, " ")).rejects.toMatchObject({
      kind: "invalid",
    });
  });

  it("pins for the owner, pushes the list to the members, refuses a member, and unpins", async () => {
    const { alice, bob, carol, conversationId } = await team();
    const bobWatch = watch(bob);
    const m = await carol.client.send({ conversationId, content: "the agenda" });
    await received(bob, m.serverMsgId, "carol's agenda");

    await expect(carol.client.pin(conversationId, m.serverMsgId)).rejects.toEqual(
      refusal(ErrorCode.ERR_PERMISSION_DENIED),
    );
    const pins = await alice.client.pin(conversationId, m.serverMsgId);
    expect(pins).toEqual([
      expect.objectContaining({ serverMsgId: m.serverMsgId, seq: m.seq, pinnedBy: alice.userId }),
    ]);
    await until(bob, "pins", () => bobWatch.pins.some((e) => e.pins.length === 1), "the pin at bob");
    expect(await bob.client.pins(conversationId)).toEqual(pins);
    expect(await alice.client.pins(conversationId)).toEqual(pins);

    expect(await alice.client.unpin(conversationId, m.serverMsgId)).toEqual([]);
    await until(bob, "pins", () => bobWatch.pins.at(-1)?.pins.length === 0, "the unpin at bob");
    expect(await bob.client.pins(conversationId)).toEqual([]);
  });

  it("forwards a group message into a one-to-one chat as the original's copy, and refuses a source the sender cannot see", async () => {
    const { alice, bob, conversationId } = await team();
    const dave = await connected("dave");
    const original = await alice.client.send({ conversationId, content: "the plan", extra: '{"k":1}' });
    const seenByBob = await received(bob, original.serverMsgId, "alice's plan");

    const toDave = bob.client.conversationWith(dave.userId);
    const copy = await bob.client.forward(
      { to: dave.userId },
      { conversationId, serverMsgId: original.serverMsgId },
    );
    const atDave = await received(dave, copy.serverMsgId, "the forward");
    expect(atDave).toMatchObject({
      conversationId: toDave,
      senderId: bob.userId,
      text: "the plan",
      extra: '{"k":1}',
      forwardedFrom: { senderId: alice.userId, serverTime: seenByBob.serverTime },
    });
    // Bob's own copy was read back: the real content, not the placeholder sent on the wire.
    expect(await received(bob, copy.serverMsgId, "bob's own forward")).toMatchObject({
      text: "the plan",
      forwardedFrom: { senderId: alice.userId },
    });

    await expect(
      dave.client.forward({ to: bob.userId }, { conversationId, serverMsgId: original.serverMsgId }),
    ).rejects.toEqual(refusal(ErrorCode.ERR_INVALID_PARAM));
  });

  it("catches a device that was offline up through CHANGES_REQ: edits, reactions, revokes and pins, then asks nothing more", async () => {
    const { alice, bob, conversationId } = await team();
    const messages = [];
    for (const text of ["one", "two", "three"])
      messages.push(await alice.client.send({ conversationId, content: text }));
    await untilMessages(bob, conversationId, 4); // the group's creation notice and the three
    const [one, two, three] = messages as [(typeof messages)[0], (typeof messages)[0], (typeof messages)[0]];
    const unread = async () =>
      (await bob.client.conversations.list()).conversations.find((c) => c.conversationID === conversationId)
        ?.unreadCount;
    const unreadBefore = await unread();

    bob.client.disconnect();
    await alice.client.edit(conversationId, one.serverMsgId, "one (edited)");
    await alice.client.react(conversationId, two.serverMsgId, "🎉");
    await alice.client.pin(conversationId, two.serverMsgId);
    await alice.client.revoke(conversationId, three.serverMsgId);

    const sentBefore = bob.sent.length;
    await bob.client.connect(); // resolves once the changes are applied
    const asked = bob.sent.slice(sentBefore).filter((f) => f.command === Cmd.CMD_CHANGES_REQ);
    expect(asked.length).toBeGreaterThan(0);
    const stored = await bob.client.getMessages(conversationId);
    const bySeq = (seq: number) => stored.find((m) => m.seq === seq);
    expect(bySeq(one.seq)).toMatchObject({ text: "one (edited)", editCount: 1 });
    expect(bySeq(two.seq)?.reactions).toEqual([{ emoji: "🎉", count: 1, userIds: [alice.userId] }]);
    expect(bySeq(three.seq)).toMatchObject({ isRevoked: true, text: "" });
    expect(await bob.client.pins(conversationId)).toEqual([
      expect.objectContaining({ serverMsgId: two.serverMsgId, pinnedBy: alice.userId }),
    ]);
    expect(await unread()).toBe(unreadBefore);

    // Caught up: a reconnect with nothing changed asks no CHANGES_REQ.
    bob.client.disconnect();
    const sentAgain = bob.sent.length;
    await bob.client.connect();
    expect(bob.sent.slice(sentAgain).filter((f) => f.command === Cmd.CMD_CHANGES_REQ)).toEqual([]);
  });

  it("gives a new device the pinned list with one pins_only CHANGES, and current rich fields through its sync", async () => {
    const { alice, bob, conversationId } = await team();
    const m = await bob.client.send({ conversationId, content: "remember this" });
    await received(alice, m.serverMsgId, "bob's note");
    // Several changes before the new device comes: it must not page through them.
    await alice.client.react(conversationId, m.serverMsgId, "👍");
    await alice.client.react(conversationId, m.serverMsgId, "👍", { remove: true });
    await alice.client.react(conversationId, m.serverMsgId, "❤️");
    await alice.client.pin(conversationId, m.serverMsgId);

    const second = await account(shared.server, "bob", { platform: "desktop" }, bob.client.session!);
    shared.open.push(second);
    await second.client.connect();
    expect(await second.client.pins(conversationId)).toEqual([
      expect.objectContaining({ serverMsgId: m.serverMsgId, pinnedBy: alice.userId }),
    ]);
    const synced = (await second.client.getMessages(conversationId)).find(
      (x) => x.serverMsgId === m.serverMsgId,
    );
    expect(synced?.reactions).toEqual([{ emoji: "❤️", count: 1, userIds: [alice.userId] }]);
    const asked = second.sent
      .filter((f) => f.command === Cmd.CMD_CHANGES_REQ)
      .map((f) => pb.ChangesRequest.decode(f.body))
      .filter((q) => q.conversationId === conversationId);
    expect(asked.map((q) => [Number(q.afterModSeq), q.pinsOnly])).toEqual([[0, true]]);

    // Caught up by that one answer: a reconnect asks nothing.
    second.client.disconnect();
    const sentBefore = second.sent.length;
    await second.client.connect();
    expect(second.sent.slice(sentBefore).filter((f) => f.command === Cmd.CMD_CHANGES_REQ)).toEqual([]);
  });

  it("counts one's own reactions as applied: a reconnect after them asks no CHANGES", async () => {
    const { alice, bob, conversationId } = await team();
    const m = await bob.client.send({ conversationId, content: "react to me" });
    await received(alice, m.serverMsgId, "bob's message");
    await alice.client.react(conversationId, m.serverMsgId, "👍");
    await alice.client.edit(
      conversationId,
      (await alice.client.send({ conversationId, content: "x" })).serverMsgId,
      "y",
    );
    alice.client.disconnect();
    const sentBefore = alice.sent.length;
    await alice.client.connect();
    expect(alice.sent.slice(sentBefore).filter((f) => f.command === Cmd.CMD_CHANGES_REQ)).toEqual([]);
  });

  it("forgets the user with the store: after logout({ clearStore: true }) the next login syncs again", async () => {
    const alice = await connected("alice");
    // A user whose name and password the test knows, to log in again.
    const carol = await account(shared.server, "carol-tmp");
    shared.open.push(carol);
    const username = `relog${Date.now().toString(36)}`;
    await carol.client.register({ username, password: "sdk-test-password" });
    await carol.client.login({ username, password: "sdk-test-password" });
    const carolId = carol.client.userId!;
    await carol.client.connect();
    const m = await alice.client.sendText(carolId, "before logout");
    await until(carol, "message", () => carol.timeline.some((x) => x.serverMsgId === m.serverMsgId), "hi");
    await carol.client.logout({ clearStore: true });
    await carol.client.login({ username, password: "sdk-test-password" });
    await carol.client.connect();
    const stored = await carol.client.getMessages(m.conversationId);
    expect(stored.map((x) => x.serverMsgId)).toContain(m.serverMsgId);
  });
});
