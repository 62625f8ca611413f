// Rich messages at the ConversationObject, continued (docs/RICH-MESSAGES.md): pins, threads, what a
// revoke does to replies and pins, CHANGES paging, a forward's source, and the change numbers all of
// them take. Called directly on the real objects (rich-messages.test.ts has sends, reactions, edits).
import { describe, expect, it } from "vitest";
import { encodedSizeBound } from "../../src/objects/message";
import { decodeRich } from "../../src/objects/rich-fields";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { sendToGroup } from "./helpers/groups";
import { newUser } from "./helpers/http";
import {
  groupConversation,
  messageAt,
  pairConversation,
  richSocket,
  sendOk,
  textSend,
  utf8,
  type ConversationStub,
} from "./helpers/rich";
import { text } from "./helpers/socket";

const ALL = 1 << 20;

/** A member joins the group now; answers the first seq they may see. */
async function join(g: Awaited<ReturnType<typeof groupConversation>>) {
  const late = await newUser("late");
  expect(
    await g.stub.groupCommand({ op: "invite", actor: g.owner.userId, userIds: [late.userId] }),
  ).toMatchObject({
    ok: true,
  });
  const read = await g.stub.read({
    userId: late.userId,
    fromSeq: 1,
    toSeq: 0,
    limit: 1,
    newest: false,
    maxBytes: ALL,
  });
  if (!read.ok) throw new Error(read.message);
  return { late, firstSeq: read.messages[0]?.seq ?? read.maxSeq + 1 };
}

const pinOf = (stub: ConversationStub, userId: string, serverMsgId: string, unpin = false) =>
  stub.pin({ userId, serverMsgId, unpin, originSession: "" });

describe("pins", () => {
  it("are a group's owner's and admins': newest first, at most 10, a repeat changes nothing", async () => {
    const g = await groupConversation();
    const sent: Awaited<ReturnType<typeof sendOk>>[] = [];
    for (let i = 0; i < 11; i++) sent.push(await sendOk(g.stub, textSend(g.member.userId, "", `m${i}`)));
    expect(await pinOf(g.stub, g.member.userId, sent[0]!.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    const outsider = await newUser("outsider");
    expect(await pinOf(g.stub, outsider.userId, sent[0]!.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    const first = await pinOf(g.stub, g.admin.userId, sent[0]!.serverMsgId);
    expect(first).toMatchObject({
      ok: true,
      pins: [{ serverMsgId: sent[0]!.serverMsgId, pinnedBy: g.admin.userId }],
    });
    const second = await pinOf(g.stub, g.owner.userId, sent[1]!.serverMsgId);
    expect(second.ok && second.pins.map((p) => p.seq)).toEqual([sent[1]!.seq, sent[0]!.seq]);
    const { modSeq } = await messageAt(g.stub, g.owner.userId, sent[0]!.seq);
    expect(modSeq).toBe(2);
    // Pinning a pinned message, unpinning one that is not: the list, and no change.
    expect(await pinOf(g.stub, g.owner.userId, sent[1]!.serverMsgId)).toEqual(second);
    expect(await pinOf(g.stub, g.owner.userId, sent[5]!.serverMsgId, true)).toEqual(second);
    expect((await messageAt(g.stub, g.owner.userId, sent[0]!.seq)).modSeq).toBe(2);
    for (let i = 2; i < 10; i++)
      expect(await pinOf(g.stub, g.owner.userId, sent[i]!.serverMsgId)).toMatchObject({ ok: true });
    expect(await pinOf(g.stub, g.owner.userId, sent[10]!.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    const unpinned = await pinOf(g.stub, g.admin.userId, sent[3]!.serverMsgId, true);
    expect(unpinned.ok && unpinned.pins).toHaveLength(9);
    expect(await pinOf(g.stub, g.owner.userId, sent[10]!.serverMsgId)).toMatchObject({ ok: true });
    // Pins are not messages: no seq taken.
    expect((await messageAt(g.stub, g.owner.userId, sent[10]!.seq)).maxSeq).toBe(sent[10]!.seq);
  });

  it("in a one-to-one are both members', reach every rich device, and are refused on a revoked message", async () => {
    const { a, b, conversationId, stub } = await pairConversation();
    const [aPhone, bPhone] = [await richSocket(a), await richSocket(b)];
    const one = await aPhone.sendText(a.userId, b.userId, "one");
    const two = await aPhone.sendText(a.userId, b.userId, "two");
    expect(await pinOf(stub, b.userId, one.serverMsgId)).toMatchObject({ ok: true });
    expect(await pinOf(stub, a.userId, two.serverMsgId)).toMatchObject({ ok: true });
    for (const socket of [aPhone, bPhone]) {
      const pushes = [
        pb.PinsPush.decode((await socket.nextCommand(Cmd.CMD_PINS_PUSH)).body),
        pb.PinsPush.decode((await socket.nextCommand(Cmd.CMD_PINS_PUSH)).body),
      ];
      expect(
        pushes.map((p) => [p.conversationId, Number(p.modSeq), p.pins.map((pin) => pin.serverMsgId)]),
      ).toEqual([
        [conversationId, 1, [one.serverMsgId]],
        [conversationId, 2, [two.serverMsgId, one.serverMsgId]],
      ]);
    }
    const three = await aPhone.sendText(a.userId, b.userId, "three");
    await stub.revoke({ userId: a.userId, serverMsgId: three.serverMsgId, originSession: "" });
    expect(await pinOf(stub, b.userId, three.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    aPhone.close();
    bPhone.close();
  });
});

describe("pins and who joined when", () => {
  it("show a member only the pinned messages they could see, and let an admin unpin one from before they joined", async () => {
    const g = await groupConversation();
    const early = await sendOk(g.stub, textSend(g.member.userId, "", "from before"));
    expect(await pinOf(g.stub, g.admin.userId, early.serverMsgId)).toMatchObject({ ok: true });
    const { late } = await join(g);
    const later = await sendOk(g.stub, textSend(g.member.userId, "", "from after"));
    // A plain member who joined late: nothing of the earlier pin, not even its id.
    const fromZero = await g.stub.changes({ userId: late.userId, afterModSeq: 0, limit: 10, maxBytes: ALL });
    expect(fromZero).toMatchObject({ ok: true, pinsChanged: true, pins: [] });
    expect(await pinOf(g.stub, late.userId, early.serverMsgId, true)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    expect(
      await g.stub.groupCommand({ op: "setAdmin", actor: g.owner.userId, userId: late.userId, admin: true }),
    ).toMatchObject({ ok: true });
    const pinned = await pinOf(g.stub, late.userId, later.serverMsgId);
    expect(pinned.ok && pinned.pins.map((p) => p.serverMsgId)).toEqual([later.serverMsgId]);
    const everyone = await g.stub.changes({
      userId: g.other.userId,
      afterModSeq: 0,
      limit: 10,
      maxBytes: ALL,
    });
    expect(everyone.ok && everyone.pins.map((p) => p.serverMsgId)).toEqual([
      later.serverMsgId,
      early.serverMsgId,
    ]);
    // Taking down a pin from before they joined: theirs to do as an admin, and the list is shorter for all.
    const unpinned = await pinOf(g.stub, late.userId, early.serverMsgId, true);
    expect(unpinned.ok && unpinned.pins.map((p) => p.serverMsgId)).toEqual([later.serverMsgId]);
    const after = await g.stub.changes({ userId: g.other.userId, afterModSeq: 0, limit: 10, maxBytes: ALL });
    expect(after.ok && after.pins.map((p) => p.serverMsgId)).toEqual([later.serverMsgId]);
    // Pinning one from before they joined is still refused: they cannot see it.
    expect(await pinOf(g.stub, late.userId, early.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
  });
});

describe("a revoke", () => {
  it("turns the replies' quote revoked and unpins the message, a change each, pushed to the members", async () => {
    const g = await groupConversation();
    const groupId = g.conversationId.slice("group_".length);
    // Devices of the owner and the admin; the member sends straight to the object, so every message
    // reaches these two objects by the fan-out (a change waits until the member's object holds it).
    const [ownerPhone, adminPhone] = [await richSocket(g.owner), await richSocket(g.admin)];
    const quoted = await sendToGroup(ownerPhone, groupId, "secret plans");
    await g.stub.edit({
      userId: g.owner.userId,
      serverMsgId: quoted.serverMsgId,
      content: utf8("secret plans!"),
      originSession: "",
    });
    const reply = await sendOk(
      g.stub,
      textSend(g.member.userId, "", "what plans?", { replyTo: quoted.serverMsgId }),
    );
    expect(decodeRich(reply.ext).replyTo).toMatchObject({ snippet: "secret plans!", revoked: false });
    await pinOf(g.stub, g.admin.userId, quoted.serverMsgId);
    // Changes so far: the edit (1), the reply count (2), the pin (3).
    expect(
      await g.stub.revoke({ userId: g.owner.userId, serverMsgId: quoted.serverMsgId, originSession: "" }),
    ).toMatchObject({
      ok: true,
    });
    const after = await messageAt(g.stub, g.owner.userId, reply.seq);
    expect(after.rich.replyTo).toEqual({
      serverMsgId: quoted.serverMsgId,
      seq: Number(quoted.seq),
      senderId: g.owner.userId,
      messageType: 1,
      snippet: "",
      revoked: true,
    });
    // The revoke (4), the reply's quote (5), the pinned list (6).
    expect(after.rich.modSeq).toBe(5);
    expect(after.modSeq).toBe(6);
    const changes = await g.stub.changes({
      userId: g.other.userId,
      afterModSeq: 3,
      limit: 10,
      maxBytes: ALL,
    });
    if (!changes.ok) throw new Error(changes.message);
    expect(changes.messages.map((m) => [m.seq, m.isRevoked])).toEqual([
      [Number(quoted.seq), true],
      [reply.seq, false],
    ]);
    expect(changes).toMatchObject({ pinsChanged: true, pins: [], modSeq: 6, hasMore: false });
    // The revoked message keeps none of its earlier contents.
    expect(
      await g.stub.editHistory({
        userId: g.other.userId,
        serverMsgId: quoted.serverMsgId,
        beforeVersion: 0,
        maxBytes: ALL,
      }),
    ).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    for (const socket of [ownerPhone, adminPhone]) {
      let update = pb.MessageUpdatedPush.decode(
        (await socket.nextCommand(Cmd.CMD_MESSAGE_UPDATED_PUSH)).body,
      );
      while (update.message?.serverMsgId !== reply.serverMsgId || !update.message.replyTo?.revoked)
        update = pb.MessageUpdatedPush.decode((await socket.nextCommand(Cmd.CMD_MESSAGE_UPDATED_PUSH)).body);
      expect(update.message).toMatchObject({
        seq: reply.seq,
        modSeq: 5,
        replyTo: { snippet: "", revoked: true },
      });
      expect(text(update.message.content)).toBe("what plans?");
      let pins = pb.PinsPush.decode((await socket.nextCommand(Cmd.CMD_PINS_PUSH)).body);
      while (Number(pins.modSeq) !== 6)
        pins = pb.PinsPush.decode((await socket.nextCommand(Cmd.CMD_PINS_PUSH)).body);
      expect(pins.pins).toEqual([]);
    }
    ownerPhone.close();
    adminPhone.close();
  });
});

describe("a thread", () => {
  it("pages the replies a member can see, oldest first", async () => {
    const g = await groupConversation();
    const root = await sendOk(g.stub, textSend(g.owner.userId, "", "root"));
    const replies = [];
    for (let i = 0; i < 5; i++) {
      replies.push(
        await sendOk(g.stub, textSend(g.member.userId, "", `r${i}`, { replyTo: root.serverMsgId })),
      );
      await sendOk(g.stub, textSend(g.admin.userId, "", `noise ${i}`));
    }
    const page = (userId: string, afterSeq: number, limit = 2) =>
      g.stub.thread({ userId, rootServerMsgId: root.serverMsgId, afterSeq, limit, maxBytes: ALL });
    const first = await page(g.other.userId, 0);
    if (!first.ok) throw new Error(first.message);
    expect(first.root.serverMsgId).toBe(root.serverMsgId);
    expect(decodeRich(first.root.ext).replyCount).toBe(5);
    expect(first.replies.map((m) => text(m.content))).toEqual(["r0", "r1"]);
    expect(first.hasMore).toBe(true);
    const second = await page(g.other.userId, first.replies[1]!.seq);
    expect(second.ok && second.replies.map((m) => text(m.content))).toEqual(["r2", "r3"]);
    const last = await page(g.other.userId, second.ok ? second.replies[1]!.seq : 0);
    expect(last).toMatchObject({ ok: true, hasMore: false });
    expect(last.ok && last.replies.map((m) => text(m.content))).toEqual(["r4"]);
    // A page of 100 at most, whatever is asked.
    expect(await page(g.other.userId, 0, 1000)).toMatchObject({ ok: true, hasMore: false });
    // Refusals: not a member, an unknown root, a root from before the reader joined.
    const outsider = await newUser("outsider");
    expect(await page(outsider.userId, 0)).toMatchObject({ ok: false, code: Err.ERR_PERMISSION_DENIED });
    expect(
      await g.stub.thread({
        userId: g.other.userId,
        rootServerMsgId: "nope",
        afterSeq: 0,
        limit: 5,
        maxBytes: ALL,
      }),
    ).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    const { late } = await join(g);
    expect(await page(late.userId, 0)).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
  });
});

describe("a thread's answer", () => {
  it("counts the root in its byte budget", async () => {
    const g = await groupConversation();
    const root = await sendOk(g.stub, textSend(g.owner.userId, "", "r".repeat(60_000)));
    for (let i = 0; i < 4; i++)
      await sendOk(
        g.stub,
        textSend(g.member.userId, "", `${i}`.repeat(30_000), { replyTo: root.serverMsgId }),
      );
    const maxBytes = 100_000;
    const answer = await g.stub.thread({
      userId: g.other.userId,
      rootServerMsgId: root.serverMsgId,
      afterSeq: 0,
      limit: 10,
      maxBytes,
    });
    if (!answer.ok) throw new Error(answer.message);
    // Root and replies within the budget (the first reply goes whatever its size).
    const used = [answer.root, ...answer.replies].reduce((n, m) => n + encodedSizeBound(m), 0);
    expect(answer.replies.length).toBe(1);
    expect(used).toBeLessThanOrEqual(maxBytes);
    expect(answer.hasMore).toBe(true);
  });
});

describe("changes", () => {
  it("page from 0 and from a change number, with the pinned list when it changed within the page", async () => {
    const { a, b, stub } = await pairConversation();
    const m: Awaited<ReturnType<typeof sendOk>>[] = [];
    for (let i = 0; i < 4; i++) m.push(await sendOk(stub, textSend(a.userId, b.userId, `m${i}`)));
    const react = (i: number, emoji: string) =>
      stub.react({
        userId: b.userId,
        serverMsgId: m[i]!.serverMsgId,
        emoji,
        remove: false,
        originSession: "",
      });
    await react(2, "👍"); // 1
    await react(0, "👍"); // 2
    await pinOf(stub, a.userId, m[1]!.serverMsgId); // 3, the pinned list
    await react(3, "👍"); // 4
    await react(2, "🎉"); // 5: m2 again, now at 5
    const changes = (afterModSeq: number, limit: number) =>
      stub.changes({ userId: a.userId, afterModSeq, limit, maxBytes: ALL });
    const p1 = await changes(0, 2);
    if (!p1.ok) throw new Error(p1.message);
    // m0 (2), m3 (4): m2 moved to its last change; the pins (3) come with the page that covers them.
    expect(p1.messages.map((x) => x.seq)).toEqual([m[0]!.seq, m[3]!.seq]);
    expect(p1).toMatchObject({ modSeq: 4, hasMore: true, pinsChanged: true });
    expect(p1.pins.map((p) => p.serverMsgId)).toEqual([m[1]!.serverMsgId]);
    const p2 = await changes(p1.modSeq, 2);
    expect(p2).toMatchObject({ ok: true, modSeq: 5, hasMore: false, pinsChanged: false, pins: [] });
    expect(p2.ok && p2.messages.map((x) => [x.seq, decodeRich(x.ext).reactions?.length])).toEqual([
      [m[2]!.seq, 2],
    ]);
    const none = await changes(5, 10);
    expect(none).toMatchObject({ ok: true, messages: [], modSeq: 5, hasMore: false, pinsChanged: false });
    const small = await changes(0, 1);
    expect(small).toMatchObject({ ok: true, modSeq: 2, hasMore: true, pinsChanged: false });
    // From 2: the pins and m3, m2.
    const fromTwo = await changes(2, 10);
    expect(fromTwo.ok && fromTwo.messages.map((x) => x.seq)).toEqual([m[3]!.seq, m[2]!.seq]);
    expect(fromTwo).toMatchObject({ pinsChanged: true, modSeq: 5, hasMore: false });
    const outsider = await newUser("outsider");
    expect(
      await stub.changes({ userId: outsider.userId, afterModSeq: 0, limit: 10, maxBytes: ALL }),
    ).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
  });

  it("leave out messages from before the member joined; change numbers stay gapless", async () => {
    const g = await groupConversation();
    const early = await sendOk(g.stub, textSend(g.owner.userId, "", "early"));
    const { late, firstSeq } = await join(g);
    const later = await sendOk(g.stub, textSend(g.owner.userId, "", "later"));
    expect(later.seq).toBeGreaterThanOrEqual(firstSeq);
    for (const message of [early, later])
      await g.stub.react({
        userId: g.member.userId,
        serverMsgId: message.serverMsgId,
        emoji: "👀",
        remove: false,
        originSession: "",
      });
    await g.stub.edit({
      userId: g.owner.userId,
      serverMsgId: early.serverMsgId,
      content: utf8("early!"),
      originSession: "",
    });
    await pinOf(g.stub, g.admin.userId, early.serverMsgId);
    await sendOk(g.stub, textSend(g.member.userId, "", "re", { replyTo: later.serverMsgId }));
    await g.stub.revoke({ userId: g.owner.userId, serverMsgId: early.serverMsgId, originSession: "" });
    const seen = await g.stub.changes({ userId: late.userId, afterModSeq: 0, limit: 100, maxBytes: ALL });
    expect(seen.ok && seen.messages.map((m) => m.seq)).toEqual([later.seq]);
    // Everything, for a member who saw it all: every change number from 1 to the newest is some
    // change's (a message's last one, or the pinned list's), or was overtaken by a later change of
    // the same message.
    const all = await g.stub.changes({ userId: g.member.userId, afterModSeq: 0, limit: 100, maxBytes: ALL });
    if (!all.ok) throw new Error(all.message);
    // react 1, react 2, edit 3, pin 4, reply count 5, revoke 6, unpin 7.
    expect(all.modSeq).toBe(7);
    expect(all.messages.map((m) => [m.seq, decodeRich(m.ext).modSeq])).toEqual([
      [later.seq, 5],
      [early.seq, 6],
    ]);
    expect(all).toMatchObject({ pinsChanged: true, pins: [] });
  });
});

describe("a forward's source", () => {
  it("is a message a member of its conversation can see, and not revoked", async () => {
    const g = await groupConversation();
    const early = await sendOk(g.stub, textSend(g.owner.userId, "", "early"));
    const { late } = await join(g);
    const later = await sendOk(g.stub, textSend(g.owner.userId, "", "worth forwarding"));
    const source = await g.stub.forwardSource({ userId: late.userId, serverMsgId: later.serverMsgId });
    expect(source.ok && text(source.message.content)).toBe("worth forwarding");
    expect(await g.stub.forwardSource({ userId: late.userId, serverMsgId: early.serverMsgId })).toMatchObject(
      {
        ok: false,
        code: Err.ERR_INVALID_PARAM,
      },
    );
    const outsider = await newUser("outsider");
    expect(
      await g.stub.forwardSource({ userId: outsider.userId, serverMsgId: later.serverMsgId }),
    ).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    await g.stub.revoke({ userId: g.owner.userId, serverMsgId: later.serverMsgId, originSession: "" });
    expect(
      await g.stub.forwardSource({ userId: g.member.userId, serverMsgId: later.serverMsgId }),
    ).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
  });

  it("is stored on the copy as given: forwarded_from with the original's sender and time", async () => {
    const { a, b, stub } = await pairConversation();
    const sent = await sendOk(
      stub,
      textSend(a.userId, b.userId, "fwd", {
        forwardedFrom: { senderId: "someone", serverTime: 1_700_000_000_000 },
      }),
    );
    expect((await messageAt(stub, b.userId, sent.seq)).rich.forwardedFrom).toEqual({
      senderId: "someone",
      serverTime: 1_700_000_000_000,
    });
  });
});
