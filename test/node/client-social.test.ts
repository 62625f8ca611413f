// The client SDK's friend, group and conversation-list calls, user search, history paging and the
// receipt, revoke and typing signals, against a real `wrangler dev`.
import { describe, expect, it } from "vitest";
import { MessageStatus, MessageType, type Message } from "edge-im/client";
import { account, sharedServer, range, until, untilMessages, type Recorded } from "./helpers/sdk-harness";

const shared = sharedServer();
const { open, connected } = shared;

/** The notices (message_type 8) a user got in their system conversation, parsed. */
function notices(r: Recorded): { type: string; [key: string]: unknown }[] {
  return r.timeline
    .filter((m) => m.conversationId === `system_${r.userId}` && m.messageType === MessageType.notification)
    .map((m) => JSON.parse(m.text) as { type: string });
}

describe("IMClient friends, groups and conversations over HTTP", () => {
  it("finds a user, sends a friend request the other side sees and accepts; a rejection and a removal", async () => {
    const [alice, bob, carol] = await Promise.all([connected("alice"), connected("bob"), connected("carol")]);
    const found = await alice.client.searchUsers(bob.userId);
    expect(found.map((u) => u.userID)).toEqual([bob.userId]);

    await alice.client.friends.add(bob.userId, "hi, it's Alice");
    await untilMessages(bob, `system_${bob.userId}`, 1);
    expect(notices(bob)).toEqual([
      { type: "friend_request", fromUserID: alice.userId, message: "hi, it's Alice" },
    ]);
    const [incoming, ...more] = await bob.client.friends.requests();
    expect(more).toEqual([]);
    expect(incoming).toMatchObject({
      fromUserID: alice.userId,
      toUserID: bob.userId,
      message: "hi, it's Alice",
    });
    expect(incoming?.user.userID).toBe(alice.userId);
    expect((await alice.client.friends.requests("outgoing")).map((r) => r.toUserID)).toEqual([bob.userId]);

    const friend = await bob.client.friends.accept(alice.userId);
    expect(friend).toMatchObject({ friendUserID: alice.userId, ownerUserID: bob.userId });
    expect(friend.user.userID).toBe(alice.userId);
    await untilMessages(alice, `system_${alice.userId}`, 1);
    expect(notices(alice)).toEqual([{ type: "friend_accepted", userID: bob.userId }]);
    expect((await alice.client.friends.list()).map((f) => f.friendUserID)).toEqual([bob.userId]);
    expect(await alice.client.friends.isFriend(bob.userId)).toBe(true);
    expect(await bob.client.friends.requests()).toEqual([]);

    await carol.client.friends.add(bob.userId);
    await bob.client.friends.reject(carol.userId);
    await untilMessages(carol, `system_${carol.userId}`, 1);
    expect(notices(carol)).toEqual([{ type: "friend_rejected", userID: bob.userId }]);
    expect(await bob.client.friends.requests()).toEqual([]);
    await expect(bob.client.friends.accept(carol.userId)).rejects.toMatchObject({ status: 200, code: 404 });

    await alice.client.friends.remove(bob.userId);
    expect(await bob.client.friends.isFriend(alice.userId)).toBe(false);
  });

  it("creates a group with a member, lets a third user join, lists members and groups, and sends to all", async () => {
    const [alice, bob, carol] = await Promise.all([connected("alice"), connected("bob"), connected("carol")]);
    const group = await alice.client.groups.create({ groupName: "Team", memberUserIDs: [bob.userId] });
    expect(group).toMatchObject({ groupName: "Team", ownerUserID: alice.userId, memberCount: 2, status: 0 });
    const joined = await carol.client.groups.join(group.groupID);
    expect(joined.memberCount).toBe(3);
    expect((await carol.client.groups.mine()).map((g) => g.groupID)).toEqual([group.groupID]);
    expect((await alice.client.groups.get(group.groupID)).groupName).toBe("Team");
    const members = await bob.client.groups.members(group.groupID);
    expect(members.map((m) => [m.userID, m.role])).toEqual([
      [alice.userId, 2],
      [bob.userId, 0],
      [carol.userId, 0],
    ]);

    const conversationId = `group_${group.groupID}`;
    const ack = await carol.client.send({ conversationId, content: "hello team" });
    for (const r of [alice, bob]) {
      await until(
        r,
        "message",
        () => r.timeline.some((m) => m.serverMsgId === ack.serverMsgId),
        "carol's group message",
      );
    }
    // The creation and the join are notices in the group conversation, before carol's message.
    const seen = alice.timeline.filter((m) => m.conversationId === conversationId);
    expect(seen.map((m) => m.messageType)).toEqual([
      MessageType.notification,
      MessageType.notification,
      MessageType.text,
    ]);
    expect(JSON.parse(seen[1]!.text)).toMatchObject({ type: "member_joined", userIDs: [carol.userId] });

    await carol.client.groups.leave(group.groupID);
    expect(await carol.client.groups.mine()).toEqual([]);
    await expect(carol.client.groups.members(group.groupID)).rejects.toMatchObject({
      status: 200,
      code: 403,
    });
  });

  it("lists conversations with unread counts and the last message, pinned first; mutes, marks read and hides", async () => {
    const [alice, bob, carol] = await Promise.all([connected("alice"), connected("bob"), connected("carol")]);
    await bob.client.sendText(alice.userId, "from bob 1");
    await bob.client.sendText(alice.userId, "from bob 2");
    await carol.client.sendText(alice.userId, "from carol");
    const withBob = alice.client.conversationWith(bob.userId);
    const withCarol = alice.client.conversationWith(carol.userId);
    await untilMessages(alice, withCarol, 1);

    const { conversations, nextOffset } = await alice.client.conversations.list();
    expect(nextOffset).toBeNull();
    expect(conversations.map((c) => [c.conversationID, c.unreadCount])).toEqual([
      [withCarol, 1],
      [withBob, 2],
    ]);
    const bobRow = conversations[1]!;
    expect(bobRow).toMatchObject({ conversationType: 1, userID: bob.userId, maxSeq: 2, readSeq: 0 });
    expect(bobRow.latestMessage).toMatchObject({ senderId: bob.userId, text: "from bob 2", seq: 2 });

    expect((await alice.client.conversations.pin(withBob, true)).isPinned).toBe(true);
    expect((await alice.client.conversations.mute(withCarol, true)).isMuted).toBe(true);
    const read = await alice.client.conversations.markRead(withBob);
    expect(read).toMatchObject({ unreadCount: 0, readSeq: 2 });
    const after = (await alice.client.conversations.list()).conversations;
    expect(after.map((c) => [c.conversationID, c.isPinned, c.unreadCount])).toEqual([
      [withBob, true, 0],
      [withCarol, false, 1],
    ]);

    await alice.client.conversations.hide(withCarol);
    expect((await alice.client.conversations.list()).conversations.map((c) => c.conversationID)).toEqual([
      withBob,
    ]);
    await expect(alice.client.conversations.get("single_nobody")).rejects.toMatchObject({
      status: 200,
      code: 400,
    });
  });
});

describe("IMClient message search", () => {
  it("finds words inside sentences newest first, pages with the cursor, and marks the words", async () => {
    const [alice, bob] = await Promise.all([connected("alice"), connected("bob")]);
    const conversationId = alice.client.conversationWith(bob.userId);
    const tag = `t${Date.now().toString(36)}`;
    await alice.client.sendText(bob.userId, `${tag} 我们明天去北京吃饭吧`);
    await alice.client.sendText(bob.userId, `${tag} see you in Beijing`);
    await alice.client.sendText(bob.userId, `${tag} 北京见`);
    await untilMessages(bob, conversationId, 3);

    // History reaches D1 (and the index) shortly after the send.
    let first = await bob.client.search(tag, { limit: 2 });
    for (let i = 0; i < 50 && first.hits.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      first = await bob.client.search(tag, { limit: 2 });
    }
    expect(first.hits.map((h) => h.seq)).toEqual([3, 2]);
    expect(first.nextCursor).not.toBeNull();
    const second = await bob.client.search(tag, { limit: 2, cursor: first.nextCursor! });
    expect(second.hits.map((h) => h.seq)).toEqual([1]);
    expect(second.nextCursor).toBeNull();

    const beijing = await bob.client.search("北京", { conversationId });
    expect(beijing.hits.map((h) => h.seq)).toEqual([3, 1]);
    const [hit] = beijing.hits;
    expect(hit).toMatchObject({ conversationID: conversationId, senderID: alice.userId, messageType: 1 });
    expect(hit!.highlights.map(([s, e]) => hit!.snippet.slice(s, e))).toEqual(["北京"]);
    await expect(bob.client.search("  ")).rejects.toMatchObject({ code: 400 });
  });
});

describe("IMClient history and signals", () => {
  it("pages backwards with SYNC_RANGE, with statuses as the reader sees them, and writes older pages to the store", async () => {
    const [alice, bob] = await Promise.all([connected("alice"), connected("bob")]);
    const conversationId = alice.client.conversationWith(bob.userId);
    for (const i of range(1, 25)) await alice.client.sendText(bob.userId, `m${i}`);
    await untilMessages(bob, conversationId, 25);
    // Before the receipt, alice's own copies say "sent", as their acks did.
    expect(alice.timeline.filter((m) => m.conversationId === conversationId).map((m) => m.status)).toEqual(
      range(1, 25).map(() => MessageStatus.sent),
    );
    await bob.client.markRead(conversationId);

    const seqs = (page: Message[]) => page.map((m) => m.seq);
    const newest = await alice.client.history(conversationId, { limit: 10 });
    expect(seqs(newest)).toEqual(range(16, 25));
    expect(newest.every((m) => m.status === MessageStatus.read && m.senderId === alice.userId)).toBe(true);
    expect(seqs(await alice.client.history(conversationId, { beforeSeq: 16, limit: 10 }))).toEqual(
      range(6, 15),
    );
    expect(seqs(await alice.client.history(conversationId, { beforeSeq: 6, limit: 10 }))).toEqual(
      range(1, 5),
    );
    expect(await alice.client.history(conversationId, { beforeSeq: 1 })).toEqual([]);

    // A new device of bob's syncs only the newest page; history fills the store below it.
    const device = await account(
      shared.server,
      "bob",
      { platform: "tablet", syncPageSize: 10 },
      bob.client.session!,
    );
    open.push(device);
    await device.client.connect();
    expect(seqs(await device.client.getMessages(conversationId))).toEqual(range(16, 25));
    expect(seqs(await device.client.history(conversationId, { beforeSeq: 16, limit: 10 }))).toEqual(
      range(6, 15),
    );
    const stored = await device.client.getMessages(conversationId);
    expect(seqs(stored)).toEqual(range(6, 25));
    expect(stored.map((m) => m.text)).toEqual(range(6, 25).map((i) => `m${i}`));
  });

  it("delivers a read receipt, a revoke and typing to the other client as events", async () => {
    const [alice, bob] = await Promise.all([connected("alice"), connected("bob")]);
    const conversationId = alice.client.conversationWith(bob.userId);
    const receipts: unknown[] = [];
    const revokes: unknown[] = [];
    const typing: unknown[] = [];
    alice.client.on("receipt", (e) => receipts.push(e));
    bob.client.on("revoke", (e) => revokes.push(e));
    bob.client.on("typing", (e) => typing.push(e));

    expect(alice.client.setTyping(conversationId, true)).toBe(true);
    await until(bob, "typing", () => typing.length === 1, "a typing push");
    expect(typing).toEqual([{ conversationId, userId: alice.userId, typing: true }]);

    const ack = await alice.client.sendText(bob.userId, "soon gone");
    await untilMessages(bob, conversationId, 1);
    await bob.client.markRead(conversationId, [ack.serverMsgId]);
    await until(alice, "receipt", () => receipts.length === 1, "a read receipt");
    expect(receipts[0]).toMatchObject({
      conversationId,
      userId: bob.userId,
      serverMsgIds: [ack.serverMsgId],
    });

    await alice.client.revoke(conversationId, ack.serverMsgId);
    await until(bob, "revoke", () => revokes.length === 1, "a revoke push");
    expect(revokes[0]).toMatchObject({
      conversationId,
      serverMsgId: ack.serverMsgId,
      revokedBy: alice.userId,
    });
    const [gone] = await bob.client.getMessages(conversationId);
    expect(gone).toMatchObject({ serverMsgId: ack.serverMsgId, isRevoked: true, text: "" });
    // The sender's own store says so as well.
    const [mine] = await alice.client.getMessages(conversationId);
    expect(mine).toMatchObject({ serverMsgId: ack.serverMsgId, isRevoked: true, revokedBy: alice.userId });
  });
});
