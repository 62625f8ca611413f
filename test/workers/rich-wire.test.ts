// Rich messages over /ws (docs/RICH-MESSAGES.md; the conversation object's own side is in
// rich-messages.test.ts): each change's effect on every device of every
// member (rich sockets get MESSAGE_UPDATED_PUSH / PINS_PUSH, the changing device its answer, the
// SDK's sockets nothing), through sync (BATCH_SYNC's mod_seq, then CHANGES_REQ), replies, mentions
// and forwards, and each refusal over the wire.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_FRAME_BYTES } from "../../src/protocol/limits";
import { Cmd, decodeFrame, Err, pb, type Frame, type MessageInfo } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { notForSdk } from "../support/sdk-fields";
import { createGroup, sendToGroup } from "./helpers/groups";
import { api, newUser, type TestUser } from "./helpers/http";
import { readReceipt, revoke, syncRange } from "./helpers/protocol";
import {
  changes,
  connectRich,
  edit,
  editHistory,
  nextPins,
  nextUpdate,
  ok,
  pin,
  react,
  sendRich,
  thread,
} from "./helpers/rich-wire";
import { TestSocket, text } from "./helpers/socket";

afterEach(() => {
  vi.useRealTimers();
});

const encode = (s: string) => new TextEncoder().encode(s);

function batchSync(s: TestSocket, states: { conversationId: string; lastSeq: number }[] = []) {
  return s.request(
    Cmd.CMD_BATCH_SYNC_REQ,
    pb.BatchSyncRequest,
    { conversationStates: states },
    Cmd.CMD_BATCH_SYNC_RSP,
    pb.BatchSyncResponse,
  );
}

/** Sends a sentinel message and returns every frame `s` got before its push (the push excluded). */
async function framesUntilPush(s: TestSocket, serverMsgId: string): Promise<Frame[]> {
  const isSentinel = (f: Frame) =>
    (f.command === Cmd.CMD_PUSH_MSG && pb.PushMessage.decode(f.body).message?.serverMsgId === serverMsgId) ||
    (f.command === Cmd.CMD_BATCH_MSG &&
      pb.BatchMessages.decode(f.body).messages.some((m) => m.message?.serverMsgId === serverMsgId));
  return s.drainUntil(isSentinel);
}

interface ConversationJson {
  conversationID: string;
  latestMsg: string;
  unreadCount: number;
  maxSeq: number;
  mentioned: boolean;
}

async function listed(user: TestUser, conversationId: string): Promise<ConversationJson | undefined> {
  const response = await api<{ conversations: ConversationJson[] }>("/api/conversations?limit=100", {
    token: user.token,
  });
  return response.body.data?.conversations.find((c) => c.conversationID === conversationId);
}

describe("rich changes on every device", () => {
  it("a reaction, an edit and a pin reach every rich device of both members, the maker's its answer, the SDK's none", async () => {
    const [a, b] = [await newUser("ra"), await newUser("rb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a, "web");
    const aPhone = await TestSocket.connect(a, "iOS");
    const bWeb = await connectRich(b, "web");
    const bMac = await connectRich(b, "macOS");
    const bPhone = await TestSocket.connect(b, "iOS");

    const m1 = await aPhone.sendText(a.userId, b.userId, "hello");
    for (const s of [aWeb, bWeb, bMac, bPhone]) await s.pushedMessages(1);

    const reacted = await react(bWeb, id, m1.serverMsgId!, "👍");
    expect(ok(reacted)).toBe(Err.ERR_SUCCESS);
    expect(reacted.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [b.userId] }]);
    for (const s of [aWeb, bMac]) {
      const update = await nextUpdate(s);
      expect(update).toMatchObject({ serverMsgId: m1.serverMsgId, seq: 1 });
      expect(update.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [b.userId] }]);
      expect(Number(update.modSeq)).toBeGreaterThan(0);
      // The maker's answer carries the same change number, so it can order it against pushes.
      expect(Number(reacted.modSeq)).toBe(Number(update.modSeq));
    }
    // A repeat changes nothing and answers the message's number as it stands.
    expect(Number((await react(bWeb, id, m1.serverMsgId!, "👍")).modSeq)).toBe(Number(reacted.modSeq));

    const edited = await edit(aWeb, id, m1.serverMsgId!, "hello, edited");
    expect(ok(edited)).toBe(Err.ERR_SUCCESS);
    expect(edited.editCount).toBe(1);
    expect(Number(edited.editedTime)).toBeGreaterThan(0);
    expect(Number(edited.modSeq)).toBeGreaterThan(Number(reacted.modSeq));
    for (const s of [bWeb, bMac]) {
      const update = await nextUpdate(s, (m) => (m.editCount ?? 0) === 1);
      expect(Number(update.modSeq)).toBe(Number(edited.modSeq));
      expect(text(update.content)).toBe("hello, edited");
      expect(update.reactions?.map((r) => r.emoji)).toEqual(["👍"]);
    }
    // The conversation list shows the edit: the edited message is the last one.
    await expect
      .poll(async () => JSON.parse((await listed(b, id))?.latestMsg ?? "{}").content)
      .toBe("hello, edited");

    const pinned = await pin(bWeb, id, m1.serverMsgId!);
    expect(ok(pinned)).toBe(Err.ERR_SUCCESS);
    expect(pinned.pins).toMatchObject([{ serverMsgId: m1.serverMsgId, seq: 1, pinnedBy: b.userId }]);
    expect(Number(pinned.modSeq)).toBeGreaterThan(Number(edited.modSeq));
    for (const s of [aWeb, bMac]) {
      const pins = await nextPins(s);
      expect(Number(pins.modSeq)).toBe(Number(pinned.modSeq));
      expect(pins.conversationId).toBe(id);
      expect(pins.pins).toMatchObject([{ serverMsgId: m1.serverMsgId, pinnedBy: b.userId }]);
    }

    // A message after it all: what each device got before its push.
    const after = await aPhone.sendText(a.userId, b.userId, "after");
    const updates = (frames: Frame[]) => frames.filter((f) => f.command >= 1100).map((f) => Cmd[f.command]);
    // The maker of a change hears its answer, not the push: each device got exactly the pushes
    // taken above (b's web made the reaction and the pin, a's web the edit).
    expect(updates(await framesUntilPush(bWeb, after.serverMsgId!))).toEqual([]);
    expect(updates(await framesUntilPush(aWeb, after.serverMsgId!))).toEqual([]);
    expect(updates(await framesUntilPush(bMac, after.serverMsgId!))).toEqual([]);
    for (const sdk of [bPhone]) {
      const frames = await framesUntilPush(sdk, after.serverMsgId!);
      expect(frames.map((f) => notForSdk(f.command, f.body)).filter(Boolean)).toEqual([]);
    }
    expect(
      aPhone
        .drainAll()
        .map((f) => notForSdk(f.command, f.body))
        .filter(Boolean),
    ).toEqual([]);

    // Through sync: the SDK's device gets the current content and nothing else; a rich one all of it.
    const plainSync = await bPhone.send(Cmd.CMD_BATCH_SYNC_REQ, pb.BatchSyncRequest, {});
    const plainFrame = await bPhone.next(
      (f) => f.command === Cmd.CMD_BATCH_SYNC_RSP && f.sequence === plainSync,
    );
    expect(notForSdk(plainFrame.command, plainFrame.body)).toBeNull();
    const plain = pb.BatchSyncResponse.decode(plainFrame.body).conversationMessages.find(
      (c) => c.conversationId === id,
    );
    expect(plain?.messages?.map((m) => text(m.content))).toEqual(["hello, edited", "after"]);
    const rangeSeq = bPhone.send(Cmd.CMD_SYNC_RANGE_REQ, pb.SyncRangeRequest, {
      conversationId: id,
      startSeq: 1,
      endSeq: 0,
    });
    const rangeFrame = await bPhone.next(
      (f) => f.command === Cmd.CMD_SYNC_RANGE_RSP && f.sequence === rangeSeq,
    );
    expect(notForSdk(rangeFrame.command, rangeFrame.body)).toBeNull();

    const rich = (await batchSync(bMac)).conversationMessages.find((c) => c.conversationId === id);
    const [first] = rich?.messages ?? [];
    expect(first).toMatchObject({ editCount: 1, content: encode("hello, edited") });
    expect(first?.reactions?.map((r) => r.emoji)).toEqual(["👍"]);
    expect(Number(rich?.modSeq)).toBeGreaterThan(0);
    const range = await syncRange(bMac, id, 1, 0);
    expect(range.messages?.[0]?.editCount).toBe(1);

    const history = await editHistory(bWeb, id, m1.serverMsgId!);
    expect(history.versions?.map((v) => text(v.content))).toEqual(["hello"]);
    for (const s of [aWeb, aPhone, bWeb, bMac, bPhone]) s.close();
  });

  it("a device away during a reaction, an edit and a pin learns of them from BATCH_SYNC's mod_seq and CHANGES_REQ", async () => {
    const [a, b] = [await newUser("sa"), await newUser("sb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    let bWeb = await connectRich(b);
    const m1 = await aWeb.sendText(a.userId, b.userId, "one");
    const m2 = await aWeb.sendText(a.userId, b.userId, "two");
    await bWeb.pushedMessages(2);
    const before = (await batchSync(bWeb, [{ conversationId: id, lastSeq: 2 }])).conversationMessages[0];
    expect(Number(before?.modSeq ?? 0)).toBe(0);
    bWeb.close();
    await bWeb.closed;

    expect(ok(await react(aWeb, id, m1.serverMsgId!, "🎉"))).toBe(0);
    expect(ok(await edit(aWeb, id, m2.serverMsgId!, "two, edited"))).toBe(0);
    expect(ok(await pin(aWeb, id, m1.serverMsgId!))).toBe(0);

    bWeb = await connectRich(b);
    // Nothing new to read (last_seq 2 is the newest): the number comes from b's own inbox.
    const entry = (await batchSync(bWeb, [{ conversationId: id, lastSeq: 2 }])).conversationMessages.find(
      (c) => c.conversationId === id,
    );
    expect(entry?.messages ?? []).toEqual([]);
    const newest = Number(entry?.modSeq);
    expect(newest).toBeGreaterThan(0);

    const changed = await changes(bWeb, id, 0);
    expect(ok(changed)).toBe(0);
    expect(changed.conversationId).toBe(id);
    const bySeq = new Map((changed.messages ?? []).map((m) => [Number(m.seq), m]));
    expect(bySeq.get(1)?.reactions?.map((r) => r.emoji)).toEqual(["🎉"]);
    expect(bySeq.get(2)).toMatchObject({ editCount: 1, content: encode("two, edited") });
    expect(changed.pinsChanged).toBe(true);
    expect(changed.pins).toMatchObject([{ serverMsgId: m1.serverMsgId }]);
    expect(Number(changed.modSeq)).toBe(newest);
    expect(changed.hasMore).toBe(false);

    // A device new to the conversation asks for the pinned list alone.
    const pinsOnly = await bWeb.request(
      Cmd.CMD_CHANGES_REQ,
      pb.ChangesRequest,
      { conversationId: id, afterModSeq: 0, pinsOnly: true },
      Cmd.CMD_CHANGES_RSP,
      pb.ChangesResponse,
    );
    expect(pinsOnly.messages ?? []).toEqual([]);
    expect(pinsOnly).toMatchObject({ pinsChanged: true, hasMore: false });
    expect(pinsOnly.pins).toMatchObject([{ serverMsgId: m1.serverMsgId }]);
    expect(Number(pinsOnly.modSeq)).toBe(newest);

    const none = await changes(bWeb, id, newest);
    expect(none.messages ?? []).toEqual([]);
    expect(none.pinsChanged).toBe(false);

    // The SDK's device, also away, syncs the edited text and nothing it cannot take.
    const bPhone = await TestSocket.connect(b, "iOS");
    const sequence = bPhone.send(Cmd.CMD_BATCH_SYNC_REQ, pb.BatchSyncRequest, {});
    const frame = await bPhone.next((f) => f.command === Cmd.CMD_BATCH_SYNC_RSP && f.sequence === sequence);
    expect(notForSdk(frame.command, frame.body)).toBeNull();
    const synced = pb.BatchSyncResponse.decode(frame.body).conversationMessages.find(
      (c) => c.conversationId === id,
    );
    expect(synced?.messages?.map((m) => text(m.content))).toEqual(["one", "two, edited"]);
    for (const s of [aWeb, bWeb, bPhone]) s.close();
  });
  it("a device away during a plain revoke learns of it from BATCH_SYNC's mod_seq and CHANGES_REQ", async () => {
    const [a, b] = [await newUser("ra"), await newUser("rb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    let bWeb = await connectRich(b);
    const m1 = await aWeb.sendText(a.userId, b.userId, "soon gone");
    await bWeb.pushedMessages(1);
    bWeb.close();
    await bWeb.closed;

    // No quote, no pin: the revoke's own change is the only one.
    expect((await revoke(aWeb, id, m1.serverMsgId!)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);

    bWeb = await connectRich(b);
    const entry = (await batchSync(bWeb, [{ conversationId: id, lastSeq: 1 }])).conversationMessages.find(
      (c) => c.conversationId === id,
    );
    expect(entry?.messages ?? []).toEqual([]);
    const newest = Number(entry?.modSeq ?? 0);
    expect(newest).toBeGreaterThan(0);
    const changed = await changes(bWeb, id, 0);
    expect(changed.messages?.map((m) => [Number(m.seq), m.isRevoked])).toEqual([[1, true]]);
    expect(Number(changed.modSeq)).toBe(newest);
    for (const s of [aWeb, bWeb]) s.close();
  });
});

describe("replies, mentions and forwards", () => {
  it("fills a reply's quote, counts the thread, flags the mentioned reader until read, and forwards with its origin", async () => {
    const [owner, member, reader] = [await newUser("go"), await newUser("gm"), await newUser("gr")];
    const group = await createGroup(owner, [member, reader]);
    const groupId = `group_${group.groupID}`;
    const ownerWeb = await connectRich(owner);
    const memberWeb = await connectRich(member);
    const readerPhone = await TestSocket.connect(reader, "iOS");

    const root = await sendToGroup(ownerWeb, group.groupID, "the root message");
    expect(ok(root)).toBe(0);
    await memberWeb.pushedUntil((m) => m.serverMsgId === root.serverMsgId);
    const reply = await sendRich(memberWeb, groupId, member.userId, "a reply", {
      replyTo: { serverMsgId: root.serverMsgId },
      mentionUserIds: [reader.userId],
    });
    expect(ok(reply)).toBe(0);

    const [pushed] = (await ownerWeb.pushedUntil((m) => m.serverMsgId === reply.serverMsgId)).slice(-1);
    expect(pushed?.replyTo).toMatchObject({
      serverMsgId: root.serverMsgId,
      seq: root.seq,
      senderId: owner.userId,
      messageType: 1,
      snippet: "the root message",
    });
    expect(pushed?.mentionUserIds).toEqual([reader.userId]);
    const counted = await nextUpdate(ownerWeb, (m) => m.serverMsgId === root.serverMsgId);
    expect(counted.replyCount).toBe(1);

    // The SDK's reader sees the reply as the plain message it is.
    const plain = await readerPhone.pushedUntil((m) => m.serverMsgId === reply.serverMsgId);
    expect(text(plain[plain.length - 1]?.content)).toBe("a reply");
    await expect.poll(async () => (await listed(reader, groupId))?.mentioned).toBe(true);
    expect((await listed(owner, groupId))?.mentioned).toBe(false);
    expect(ok(await readReceipt(readerPhone, groupId))).toBe(0);
    expect((await listed(reader, groupId))?.mentioned).toBe(false);

    const threaded = await thread(ownerWeb, groupId, root.serverMsgId!);
    expect(ok(threaded)).toBe(0);
    expect(threaded.root?.serverMsgId).toBe(root.serverMsgId);
    expect(threaded.root?.replyCount).toBe(1);
    expect(threaded.replies?.map((m) => m.serverMsgId)).toEqual([reply.serverMsgId]);

    // @all: the owner may, a member may not; the reader is flagged again.
    const refused = await sendRich(memberWeb, groupId, member.userId, "@all", { mentionAll: true });
    expect(refused.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(ok(await sendRich(ownerWeb, groupId, owner.userId, "@all hello", { mentionAll: true }))).toBe(0);
    await expect.poll(async () => (await listed(reader, groupId))?.mentioned).toBe(true);

    // A forward into the owner's one-to-one with the member: the root's content, and whose it was.
    const single = singleConversationId(owner.userId, member.userId);
    const forwarded = await ownerWeb.sendMessage({
      clientMsgId: crypto.randomUUID(),
      conversationId: single,
      senderId: owner.userId,
      receiverId: member.userId,
      forwardOf: { conversationId: groupId, serverMsgId: root.serverMsgId },
      sendTime: Date.now(),
    });
    expect(ok(forwarded)).toBe(0);
    const copies = await memberWeb.pushedUntil((m) => m.serverMsgId === forwarded.serverMsgId);
    const copy = copies[copies.length - 1] as MessageInfo;
    expect(text(copy.content)).toBe("the root message");
    expect(copy.messageType).toBe(1);
    expect(copy.forwardedFrom).toMatchObject({ senderId: owner.userId });
    expect(Number(copy.forwardedFrom?.serverTime)).toBe(Number(root.serverTime));
    for (const s of [ownerWeb, memberWeb, readerPhone]) s.close();
  });
});

describe("a revoked mention", () => {
  it("no longer flags the reader once no earlier unread mention is left", async () => {
    const [a, b] = [await newUser("rma"), await newUser("rmb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const mention = (words: string) => sendRich(aWeb, id, a.userId, words, { mentionUserIds: [b.userId] });
    const first = await mention("@b one");
    const second = await mention("@b two");
    expect([ok(first), ok(second)]).toEqual([0, 0]);
    await expect.poll(async () => (await listed(b, id))?.maxSeq).toBe(Number(second.seq));
    expect((await listed(b, id))?.mentioned).toBe(true);
    const mentionSeq = () =>
      runInDurableObject(
        env.USER_OBJECT.getByName(b.userId),
        (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT mention_seq AS n FROM inbox").one().n,
      );
    // The newest revoked: the earlier one, still unread, flags the conversation.
    expect(ok(await revoke(aWeb, id, second.serverMsgId!))).toBe(0);
    await expect.poll(mentionSeq).toBe(Number(first.seq));
    expect((await listed(b, id))?.mentioned).toBe(true);
    expect(ok(await revoke(aWeb, id, first.serverMsgId!))).toBe(0);
    await expect.poll(async () => (await listed(b, id))?.mentioned).toBe(false);
    aWeb.close();
  });
});

describe("edit history", () => {
  it("of 20 large edits comes in frames within the limit, the newest first, and pages back to the original", async () => {
    const [a, b] = [await newUser("eha"), await newUser("ehb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const bWeb = await connectRich(b);
    const sent = await aWeb.sendText(a.userId, b.userId, "original");
    const big = (i: number) => String.fromCharCode(97 + i).repeat(60 * 1024);
    for (let i = 1; i <= 20; i++) expect(ok(await edit(aWeb, id, sent.serverMsgId!, big(i)))).toBe(0);
    const pages = [];
    let before = 0;
    for (;;) {
      const page = await editHistory(bWeb, id, sent.serverMsgId!, before);
      expect(ok(page)).toBe(0);
      pages.push(page);
      if (!page.hasMore) break;
      before = page.versions[0]!.version!;
    }
    expect(bWeb.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(pages.length).toBeGreaterThan(1);
    const versions = pages.reverse().flatMap((p) => p.versions);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(versions.map((v) => text(v.content))).toEqual([
      "original",
      ...Array.from({ length: 19 }, (_, i) => big(i + 1)),
    ]);
    for (const s of [aWeb, bWeb]) s.close();
  });
});

describe("a revoke's rich effects", () => {
  it("marks every reply's quote revoked and unpins the message on rich devices; the SDK's get the revoke alone", async () => {
    const [a, b] = [await newUser("va"), await newUser("vb")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const bWeb = await connectRich(b);
    const bPhone = await TestSocket.connect(b, "iOS");
    const quoted = await aWeb.sendText(a.userId, b.userId, "soon gone");
    const reply = await sendRich(bWeb, id, b.userId, "quoting it", {
      replyTo: { serverMsgId: quoted.serverMsgId },
    });
    expect(ok(reply)).toBe(0);
    expect(ok(await pin(bWeb, id, quoted.serverMsgId!))).toBe(0);
    await bPhone.pushedMessages(2);
    bWeb.drainAll();

    expect(ok(await revoke(aWeb, id, quoted.serverMsgId!))).toBe(0);
    const update = await nextUpdate(
      bWeb,
      (m) => m.serverMsgId === reply.serverMsgId && m.replyTo?.revoked === true,
    );
    expect(update.replyTo).toMatchObject({ serverMsgId: quoted.serverMsgId, snippet: "", revoked: true });
    expect(text(update.content)).toBe("quoting it");
    expect((await nextPins(bWeb)).pins).toEqual([]);

    const revoked = pb.RevokeMessagePush.decode((await bPhone.nextCommand(Cmd.CMD_REVOKE_MSG_PUSH)).body);
    expect(revoked.serverMsgId).toBe(quoted.serverMsgId);
    const after = await aWeb.sendText(a.userId, b.userId, "after the revoke");
    const frames = await framesUntilPush(bPhone, after.serverMsgId!);
    expect(frames.map((f) => notForSdk(f.command, f.body)).filter(Boolean)).toEqual([]);
    for (const s of [aWeb, bWeb, bPhone]) s.close();
  });
});

describe("rich refusals over the wire", () => {
  it("refuses editing another's message, editing after the window, reacting and pinning where one may not, and forwards across conversations one is not in", async () => {
    const [a, b, outsider] = [await newUser("fa"), await newUser("fb"), await newUser("fo")];
    const id = singleConversationId(a.userId, b.userId);
    const aWeb = await connectRich(a);
    const bWeb = await connectRich(b);
    const outWeb = await connectRich(outsider);
    const m1 = await aWeb.sendText(a.userId, b.userId, "mine");
    await bWeb.pushedMessages(1);

    expect((await edit(bWeb, id, m1.serverMsgId!, "not yours")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect((await react(outWeb, id, m1.serverMsgId!, "👍")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect((await pin(outWeb, id, m1.serverMsgId!)).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect((await changes(outWeb, id, 0)).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect((await react(bWeb, id, m1.serverMsgId!, "two words")).errorCode).toBe(Err.ERR_INVALID_PARAM);
    expect((await react(bWeb, id, m1.serverMsgId!, "x".repeat(33))).errorCode).toBe(Err.ERR_INVALID_PARAM);

    // A group: a member may not pin, nor may an outsider react.
    const group = await createGroup(a, [b]);
    const groupId = `group_${group.groupID}`;
    const g1 = await sendToGroup(aWeb, group.groupID, "group message");
    await bWeb.pushedUntil((m) => m.serverMsgId === g1.serverMsgId);
    expect((await pin(bWeb, groupId, g1.serverMsgId!)).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect((await react(outWeb, groupId, g1.serverMsgId!, "👍")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);

    // Forwards: into a group the outsider is not in, and from a conversation it is not in.
    const own = await outWeb.sendText(outsider.userId, a.userId, "outsider's own");
    const intoGroup = await outWeb.sendMessage({
      clientMsgId: crypto.randomUUID(),
      conversationId: groupId,
      senderId: outsider.userId,
      forwardOf: {
        conversationId: singleConversationId(outsider.userId, a.userId),
        serverMsgId: own.serverMsgId,
      },
    });
    expect(intoGroup.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    const fromOthers = await outWeb.sendMessage({
      clientMsgId: crypto.randomUUID(),
      conversationId: singleConversationId(outsider.userId, a.userId),
      senderId: outsider.userId,
      receiverId: a.userId,
      forwardOf: { conversationId: id, serverMsgId: m1.serverMsgId },
    });
    expect(fromOthers.errorCode).toBe(Err.ERR_INVALID_PARAM);

    // Past the edit window (48 hours by default): the sender may no longer edit.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 49 * 3600 * 1000 });
    expect((await edit(aWeb, id, m1.serverMsgId!, "too late")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    vi.useRealTimers();

    // None of it changed anything: no change number, no new message in either conversation.
    const untouched = await changes(aWeb, id, 0);
    expect(Number(untouched.modSeq ?? 0)).toBe(0);
    expect(untouched.messages ?? []).toEqual([]);
    const synced = await batchSync(aWeb, []);
    const seqs = Object.fromEntries(
      synced.conversationMessages.map((c) => [c.conversationId, Number(c.maxSeq)]),
    );
    expect(seqs[id]).toBe(1);
    expect(seqs[groupId]).toBeGreaterThanOrEqual(1);
    for (const s of [aWeb, bWeb, outWeb]) s.close();
  });
});

/** Every frame the socket receives from now on, answers included, as the bytes came. */
function captureFrames(s: TestSocket): { command: number; body: Uint8Array }[] {
  const seen: { command: number; body: Uint8Array }[] = [];
  const receive = s.receive.bind(s);
  s.receive = (data) => {
    if (typeof data !== "string") seen.push(decodeFrame(data));
    receive(data);
  };
  return seen;
}

describe("an SDK-shaped client (rich_messages not declared) in a busy conversation", () => {
  it("gets only commands it knows and no MessageInfo field numbered 100 or more, live and through sync", async () => {
    const [owner, member, sdkUser] = [await newUser("bo"), await newUser("bm"), await newUser("bs")];
    const group = await createGroup(owner, [member, sdkUser]);
    const groupId = `group_${group.groupID}`;
    const ownerWeb = await connectRich(owner);
    const memberWeb = await connectRich(member);
    const sdk = await TestSocket.connect(sdkUser, "iOS");
    const seen = captureFrames(sdk);

    const root = await sendToGroup(ownerWeb, group.groupID, "root");
    await memberWeb.pushedUntil((m) => m.serverMsgId === root.serverMsgId);
    const reply = await sendRich(memberWeb, groupId, member.userId, "reply with mentions", {
      replyTo: { serverMsgId: root.serverMsgId },
      mentionUserIds: [sdkUser.userId, owner.userId],
    });
    expect(ok(reply)).toBe(0);
    expect(ok(await sendRich(ownerWeb, groupId, owner.userId, "@all", { mentionAll: true }))).toBe(0);
    expect(ok(await react(ownerWeb, groupId, reply.serverMsgId!, "👍"))).toBe(0);
    expect(ok(await react(memberWeb, groupId, root.serverMsgId!, "❤️"))).toBe(0);
    expect(ok(await edit(memberWeb, groupId, reply.serverMsgId!, "reply, edited"))).toBe(0);
    expect(ok(await pin(ownerWeb, groupId, root.serverMsgId!))).toBe(0);
    const forward = await ownerWeb.sendMessage({
      clientMsgId: crypto.randomUUID(),
      conversationId: groupId,
      senderId: owner.userId,
      forwardOf: { conversationId: groupId, serverMsgId: reply.serverMsgId },
    });
    expect(ok(forward)).toBe(0);
    const end = await sendToGroup(ownerWeb, group.groupID, "the end");
    const live = await sdk.pushedUntil((m) => m.serverMsgId === end.serverMsgId);
    // Replies, mentions and forwards are the plain messages they are (the forward copies the edited
    // text); the edit itself shows once synced.
    expect(live.map((m) => text(m.content))).toEqual(
      expect.arrayContaining(["root", "reply with mentions", "@all", "reply, edited", "the end"]),
    );

    const sequence = sdk.send(Cmd.CMD_BATCH_SYNC_REQ, pb.BatchSyncRequest, {});
    const synced = await sdk.next((f) => f.command === Cmd.CMD_BATCH_SYNC_RSP && f.sequence === sequence);
    const messages = pb.BatchSyncResponse.decode(synced.body).conversationMessages.find(
      (c) => c.conversationId === groupId,
    )?.messages;
    expect(messages?.map((m) => text(m.content))).toContain("reply, edited");
    const range = await syncRange(sdk, groupId, 1, 0);
    expect(range.messages?.length).toBeGreaterThanOrEqual(6);
    expect((await readReceipt(sdk, groupId)).errorCode ?? 0).toBe(0);

    // It got pushes, the sync answers and its receipt's answer: all of them checked below.
    const commands = new Set(seen.map((f) => f.command));
    for (const command of [Cmd.CMD_BATCH_SYNC_RSP, Cmd.CMD_SYNC_RANGE_RSP, Cmd.CMD_READ_RECEIPT_RSP])
      expect(commands.has(command), Cmd[command]).toBe(true);
    expect(commands.has(Cmd.CMD_PUSH_MSG) || commands.has(Cmd.CMD_BATCH_MSG)).toBe(true);
    expect(seen.map((f) => notForSdk(f.command, f.body)).filter(Boolean)).toEqual([]);
    for (const s of [ownerWeb, memberWeb, sdk]) s.close();
  });
});
