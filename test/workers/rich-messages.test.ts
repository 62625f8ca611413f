// Rich messages at the ConversationObject (docs/RICH-MESSAGES.md): what a send's rich fields store,
// reactions and edits, each with its refusals, and the change numbers they take. Called directly on
// the real objects; the devices' side (frames, sync) is tested over sockets elsewhere.
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationContext } from "../../src/objects/conversation/context";
import { identityOf, newMessageFromSend, storedMessage, toDelivered } from "../../src/objects/message";
import { decodeRich } from "../../src/objects/rich-fields";
import { parseConversationId } from "../../src/protocol/conversation-id";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { shardDatabase } from "../../src/db/history-shards";
import { writeHistory } from "../../src/objects/conversation/history-outbox";
import { historyD1, historyShardName } from "./helpers/history";
import { api, newUser } from "./helpers/http";
import {
  groupConversation,
  messageAt,
  pairConversation,
  richSocket,
  sendOk,
  sendOne,
  textSend,
  utf8,
} from "./helpers/rich";
import { text } from "./helpers/socket";

describe("a reply", () => {
  it("stores the quoted message's reference, filled by the server, and counts on the quoted message", async () => {
    const { a, b, stub } = await pairConversation();
    const long = "x".repeat(90) + "😀".repeat(20); // 110 characters, 20 of them outside the BMP
    const quoted = await sendOk(stub, textSend(a.userId, b.userId, long));
    const reply = await sendOk(stub, textSend(b.userId, a.userId, "yes", { replyTo: quoted.serverMsgId }));
    expect(reply.seq).toBe(2);
    const stored = await messageAt(stub, a.userId, 2);
    expect(stored.rich.replyTo).toEqual({
      serverMsgId: quoted.serverMsgId,
      seq: 1,
      senderId: a.userId,
      messageType: 1,
      snippet: "x".repeat(90) + "😀".repeat(10),
      revoked: false,
    });
    // The answer carries the stored fields, so the sender's copy is the stored one.
    expect(reply.ext).toEqual(stored.message.ext);
    const root = await messageAt(stub, b.userId, 1);
    expect(root.rich).toMatchObject({ replyCount: 1, modSeq: 1 });
    expect(root.modSeq).toBe(1);
    // The SDK's fields are the same as before: the rich ones live apart, in ext.
    expect(text(root.message.content)).toBe(long);
  });

  it("is refused for a message that is revoked, unknown or from another conversation, and stores nothing", async () => {
    const { a, b, stub } = await pairConversation();
    const other = await pairConversation();
    const elsewhere = await sendOk(other.stub, textSend(other.a.userId, other.b.userId, "elsewhere"));
    const gone = await sendOk(stub, textSend(a.userId, b.userId, "oops"));
    expect(
      await stub.revoke({ userId: a.userId, serverMsgId: gone.serverMsgId, originSession: "" }),
    ).toMatchObject({
      ok: true,
    });
    for (const replyTo of [gone.serverMsgId, "no-such-id", elsewhere.serverMsgId]) {
      expect(await sendOne(stub, textSend(b.userId, a.userId, "re", { replyTo }))).toMatchObject({
        ok: false,
        code: Err.ERR_INVALID_PARAM,
      });
    }
    const read = await stub.read({
      userId: a.userId,
      fromSeq: 1,
      toSeq: 0,
      limit: 10,
      newest: false,
      maxBytes: 1 << 20,
    });
    expect(read.ok && read.maxSeq).toBe(1);
  });

  it("is refused for a message before the sender joined the group", async () => {
    const g = await groupConversation();
    const early = await sendOk(g.stub, textSend(g.owner.userId, "", "before you came"));
    const late = await newUser("late");
    expect(
      await g.stub.groupCommand({ op: "invite", actor: g.owner.userId, userIds: [late.userId] }),
    ).toMatchObject({
      ok: true,
    });
    expect(
      await sendOne(g.stub, textSend(late.userId, "", "re", { replyTo: early.serverMsgId })),
    ).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
  });
});

describe("the sender's own copy of a rich message", () => {
  it("rebuilt from the send and its answer (user/own-sends.ts) is the stored message to the byte, ext included", async () => {
    const g = await groupConversation();
    const quoted = await sendOk(g.stub, textSend(g.owner.userId, "", "quote me"));
    const input = textSend(g.member.userId, "", "@admin look", {
      replyTo: quoted.serverMsgId,
      mentionUserIds: [g.admin.userId],
    });
    const result = await sendOk(g.stub, input);
    const id = identityOf(parseConversationId(g.conversationId)!);
    const own = toDelivered(
      storedMessage(
        newMessageFromSend(input, result.serverMsgId, result.serverTime, result.ext),
        result.seq,
        id,
      ),
    );
    // As the fan-out delivers it to every other member.
    const delivered = await runInDurableObject(g.stub, (instance) =>
      (instance as unknown as { c: ConversationContext }).c.messages.deliverable(
        result.seq,
        result.seq,
        1,
        id,
      ),
    );
    expect(delivered).toHaveLength(1);
    expect(own).toEqual(delivered[0]);
    expect(own.mentionUserIds).toEqual([g.admin.userId]);
    expect(decodeRich(own.ext).replyTo?.serverMsgId).toBe(quoted.serverMsgId);
  });
});

describe("mentions", () => {
  it("name members: stored in ext and handed to the recipients' objects, the sender dropped", async () => {
    const g = await groupConversation();
    const sent = await sendOk(
      g.stub,
      textSend(g.member.userId, "", "@admin @other", {
        mentionUserIds: [g.admin.userId, g.other.userId, g.admin.userId, g.member.userId],
      }),
    );
    expect(decodeRich(sent.ext).mentionUserIds).toEqual([g.admin.userId, g.other.userId]);
    const { rich } = await messageAt(g.stub, g.owner.userId, sent.seq);
    expect(rich.mentionUserIds).toEqual([g.admin.userId, g.other.userId]);
    expect(rich.mentionAll).toBeUndefined();
  });

  it("of a message revoked before it reached a recipient flag nobody", async () => {
    const g = await groupConversation();
    const sent = await sendOk(
      g.stub,
      textSend(g.owner.userId, "", "@all @admin", { mentionUserIds: [g.admin.userId], mentionAll: true }),
    );
    await g.stub.revoke({ userId: g.owner.userId, serverMsgId: sent.serverMsgId, originSession: "" });
    const { message } = await messageAt(g.stub, g.owner.userId, sent.seq);
    expect(message.isRevoked).toBe(true);
    // As the fan-out hands it to the recipients' objects now.
    const delivered = toDelivered(message);
    expect([delivered.mentionUserIds, delivered.mentionAll]).toEqual([undefined, undefined]);
  });

  it("of a non-member, or more than 50, are refused; mention_all only by a group's owner or admins", async () => {
    const g = await groupConversation();
    const outsider = await newUser("outsider");
    const refused = async (rich: Parameters<typeof textSend>[3], code: Err) =>
      expect(await sendOne(g.stub, textSend(g.member.userId, "", "hey", rich))).toMatchObject({
        ok: false,
        code,
      });
    await refused({ mentionUserIds: [g.admin.userId, outsider.userId] }, Err.ERR_INVALID_PARAM);
    await refused(
      { mentionUserIds: Array.from({ length: 51 }, () => g.admin.userId) },
      Err.ERR_INVALID_PARAM,
    );
    await refused({ mentionAll: true }, Err.ERR_PERMISSION_DENIED);
    for (const sender of [g.owner, g.admin]) {
      const sent = await sendOk(g.stub, textSend(sender.userId, "", "@all", { mentionAll: true }));
      expect(decodeRich(sent.ext).mentionAll).toBe(true);
    }
    // Only the owner's and the admin's messages were stored (and the group's notices before them).
    const read = await g.stub.read({
      userId: g.owner.userId,
      fromSeq: 1,
      toSeq: 0,
      limit: 50,
      newest: false,
      maxBytes: 1 << 20,
    });
    if (!read.ok) throw new Error(read.message);
    expect(read.messages.filter((m) => m.messageType === 1).map((m) => m.senderId)).toEqual([
      g.owner.userId,
      g.admin.userId,
    ]);
  });

  it("mention_all is refused in a one-to-one; mentioning the peer is fine", async () => {
    const { a, b, stub } = await pairConversation();
    expect(await sendOne(stub, textSend(a.userId, b.userId, "@all", { mentionAll: true }))).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    const sent = await sendOk(stub, textSend(a.userId, b.userId, "@b", { mentionUserIds: [b.userId] }));
    expect(decodeRich(sent.ext).mentionUserIds).toEqual([b.userId]);
  });
});

describe("a batch of sends", () => {
  it("mixing plain and rich messages stores each, refuses only the bad one, and keeps plain messages without ext", async () => {
    const { a, b, stub } = await pairConversation();
    const first = await sendOk(stub, textSend(a.userId, b.userId, "first"));
    const batch = [
      textSend(a.userId, b.userId, "plain"),
      textSend(a.userId, b.userId, "reply", { replyTo: first.serverMsgId }),
      textSend(a.userId, b.userId, "bad reply", { replyTo: "nope" }),
      textSend(a.userId, b.userId, "second reply", { replyTo: first.serverMsgId }),
      textSend(a.userId, b.userId, "plain again"),
    ];
    const { results } = await stub.send(batch);
    expect(results.map((r) => (r.ok ? r.seq : r.code))).toEqual([2, 3, Err.ERR_INVALID_PARAM, 4, 5]);
    expect(results[0]).not.toHaveProperty("ext");
    expect((await messageAt(stub, b.userId, 2)).message.ext).toBeUndefined();
    expect((await messageAt(stub, b.userId, 1)).rich).toMatchObject({ replyCount: 2, modSeq: 2 });
    // A resend of a rich message answers the stored one, even after its quote was revoked.
    expect(
      await stub.revoke({ userId: a.userId, serverMsgId: first.serverMsgId, originSession: "" }),
    ).toMatchObject({
      ok: true,
    });
    const [again] = (await stub.send([batch[1]!])).results;
    expect(again).toMatchObject({ ok: true, seq: 3, duplicate: true });
  });
});

describe("a reaction", () => {
  it("adds and takes back a member's emoji: counts, who, a change number, and never a seq", async () => {
    const g = await groupConversation();
    const sent = await sendOk(g.stub, textSend(g.owner.userId, "", "vote"));
    const react = (userId: string, emoji: string, remove = false) =>
      g.stub.react({ userId, serverMsgId: sent.serverMsgId, emoji, remove, originSession: "" });
    const before = await messageAt(g.stub, g.owner.userId, sent.seq);
    expect(await react(g.member.userId, "👍")).toEqual({
      ok: true,
      reactions: [{ emoji: "👍", count: 1, userIds: [g.member.userId] }],
      modSeq: 1,
    });
    await react(g.admin.userId, "🎉");
    await react(g.admin.userId, "👍");
    // Again: nothing changes (no change number either: the answer's is the message's as it stands).
    expect(await react(g.admin.userId, "👍")).toMatchObject({ ok: true, modSeq: 3 });
    const after = await messageAt(g.stub, g.owner.userId, sent.seq);
    expect(after.rich.reactions).toEqual([
      { emoji: "👍", count: 2, userIds: [g.member.userId, g.admin.userId] },
      { emoji: "🎉", count: 1, userIds: [g.admin.userId] },
    ]);
    expect(after.modSeq).toBe(3);
    expect(after.rich.modSeq).toBe(3);
    expect(after.maxSeq).toBe(before.maxSeq); // reactions are not messages
    // Emojis by their earliest reaction still there: the admin's 🎉 came before the admin's 👍.
    expect(await react(g.member.userId, "👍", true)).toEqual({
      ok: true,
      reactions: [
        { emoji: "🎉", count: 1, userIds: [g.admin.userId] },
        { emoji: "👍", count: 1, userIds: [g.admin.userId] },
      ],
      modSeq: 4,
    });
    // Taking back one that is not there changes nothing.
    await react(g.member.userId, "👍", true);
    expect((await messageAt(g.stub, g.owner.userId, sent.seq)).modSeq).toBe(4);
  });

  it("is refused to a non-member, on a revoked or unknown message, for a bad emoji, past 20 emojis or 10 of one's own", async () => {
    const { a, b, stub } = await pairConversation();
    const outsider = await newUser("outsider");
    const sent = await sendOk(stub, textSend(a.userId, b.userId, "hi"));
    const react = (userId: string, emoji: string, serverMsgId = sent.serverMsgId) =>
      stub.react({ userId, serverMsgId, emoji, remove: false, originSession: "" });
    expect(await react(outsider.userId, "👍")).toMatchObject({ ok: false, code: Err.ERR_PERMISSION_DENIED });
    expect(await react(a.userId, "👍", "nope")).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    for (const bad of ["", "a b", "x".repeat(33), "\u0007", "👍\n"])
      expect(await react(a.userId, bad)).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    const emojis = Array.from({ length: 21 }, (_, i) => String.fromCodePoint(0x1f600 + i));
    for (const emoji of emojis.slice(0, 10)) expect(await react(a.userId, emoji)).toMatchObject({ ok: true });
    expect(await react(a.userId, emojis[10]!)).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    for (const emoji of emojis.slice(10, 20))
      expect(await react(b.userId, emoji)).toMatchObject({ ok: true });
    // 20 emojis on it: a 21st is refused, one already there is still welcome.
    expect(
      await stub.react({
        userId: b.userId,
        serverMsgId: sent.serverMsgId,
        emoji: emojis[0]!,
        remove: false,
        originSession: "",
      }),
    ).toMatchObject({ ok: false });
    await stub.react({
      userId: b.userId,
      serverMsgId: sent.serverMsgId,
      emoji: emojis[19]!,
      remove: true,
      originSession: "",
    });
    expect(await react(b.userId, emojis[20]!)).toMatchObject({ ok: true });
    expect(await react(b.userId, emojis[0]!)).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    expect(
      await stub.revoke({ userId: a.userId, serverMsgId: sent.serverMsgId, originSession: "" }),
    ).toMatchObject({
      ok: true,
    });
    expect(await react(b.userId, "🙂")).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
  });

  it("reaches the members' rich_messages devices as the message's new state, not the device that reacted", async () => {
    const { a, b, conversationId, stub } = await pairConversation();
    const [aPhone, bPhone] = [await richSocket(a), await richSocket(b)];
    // Sent from a's device, so a's object holds it (a change waits until the member's object does).
    const sent = await aPhone.sendText(a.userId, b.userId, "hi");
    expect(
      await stub.react({
        userId: b.userId,
        serverMsgId: sent.serverMsgId,
        emoji: "❤️",
        remove: false,
        originSession: "",
      }),
    ).toMatchObject({ ok: true });
    for (const socket of [aPhone, bPhone]) {
      const push = pb.MessageUpdatedPush.decode(
        (await socket.nextCommand(Cmd.CMD_MESSAGE_UPDATED_PUSH)).body,
      );
      const message = push.message!;
      expect(message).toMatchObject({ conversationId, serverMsgId: sent.serverMsgId, seq: 1, modSeq: 1 });
      expect(message.reactions).toEqual([
        expect.objectContaining({ emoji: "❤️", count: 1, userIds: [b.userId] }),
      ]);
      expect(text(message.content)).toBe("hi");
    }
    aPhone.close();
    bPhone.close();
  });
});

describe("an edit", () => {
  it("replaces the content, keeps the earlier ones, and gets the new text to D1", async () => {
    const { a, b, conversationId, stub } = await pairConversation();
    const tag = `t${Date.now().toString(36)}`; // this test's own word: search finds only its message
    const sent = await sendOk(stub, textSend(a.userId, b.userId, `helo ${tag}`));
    const edit = (content: string) =>
      stub.edit({
        userId: a.userId,
        serverMsgId: sent.serverMsgId,
        content: utf8(`${content} ${tag}`),
        originSession: "",
      });
    expect(await edit("hello")).toMatchObject({ ok: true, editCount: 1 });
    const second = await edit("hello there");
    expect(second).toMatchObject({ ok: true, editCount: 2 });
    const { message, rich, maxSeq } = await messageAt(stub, b.userId, sent.seq);
    expect(text(message.content)).toBe(`hello there ${tag}`);
    expect(rich).toMatchObject({ editCount: 2, editedTime: second.ok && second.editedTime, modSeq: 2 });
    expect(maxSeq).toBe(1);
    const history = await stub.editHistory({
      userId: b.userId,
      serverMsgId: sent.serverMsgId,
      beforeVersion: 0,
      maxBytes: 1 << 20,
    });
    if (!history.ok) throw new Error(history.message);
    expect(history.versions.map((v) => text(v.content))).toEqual([`helo ${tag}`, `hello ${tag}`]);
    while (await runDurableObjectAlarm(stub));
    const row = await (
      await historyD1(conversationId)
    )
      .prepare("SELECT CAST(content AS TEXT) AS content FROM messages WHERE server_msg_id = ?")
      .bind(sent.serverMsgId)
      .first<{ content: string }>();
    expect(row?.content).toBe(`hello there ${tag}`);
    // Search finds the new text, not the old.
    const found = async (q: string) => {
      const response = await api<{ messages: { seq: number }[] }>(
        `/api/messages/search?${new URLSearchParams({ q: `${q} ${tag}`, conversationID: conversationId }).toString()}`,
        { token: b.token },
      );
      expect(response.body.code, response.body.message).toBe(0);
      return response.body.data!.messages.map((m) => m.seq);
    };
    expect(await found("there")).toEqual([sent.seq]);
    expect(await found("helo")).toEqual([]);
    // A copy from before the edits (a batch still on its way, say) arriving late changes nothing.
    const stale = await stub.read({
      userId: b.userId,
      fromSeq: 1,
      toSeq: 1,
      limit: 1,
      newest: false,
      maxBytes: 1 << 20,
    });
    if (!stale.ok) throw new Error(stale.message);
    const before = { ...stale.messages[0]!, content: utf8(`helo ${tag}`), ext: undefined, status: undefined };
    await writeHistory(shardDatabase(env, await historyShardName(conversationId)), [before]);
    const kept = await (
      await historyD1(conversationId)
    )
      .prepare("SELECT CAST(content AS TEXT) AS content, edit_count FROM messages WHERE server_msg_id = ?")
      .bind(sent.serverMsgId)
      .first<{ content: string; edit_count: number }>();
    expect(kept).toEqual({ content: `hello there ${tag}`, edit_count: 2 });
    const queued = await runInDurableObject(
      stub,
      (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM requeue").one().n,
    );
    expect(queued).toBe(0);
  });

  it("is refused for another's message, after the window, for a revoked or non-text message, bad content, past 20 edits", async () => {
    const { a, b, stub } = await pairConversation();
    const sent = await sendOk(stub, textSend(a.userId, b.userId, "mine"));
    const edit = (userId: string, content: Uint8Array, serverMsgId = sent.serverMsgId) =>
      stub.edit({ userId, serverMsgId, content, originSession: "" });
    expect(await edit(b.userId, utf8("yours now"))).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    expect(await edit(a.userId, new Uint8Array())).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    expect(await edit(a.userId, new Uint8Array(65_537).fill(97))).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    const image = await sendOk(stub, { ...textSend(a.userId, b.userId, "{}"), messageType: 2 });
    expect(await edit(a.userId, utf8("{}"), image.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    for (let i = 1; i <= 20; i++)
      expect(await edit(a.userId, utf8(`v${i}`))).toMatchObject({ ok: true, editCount: i });
    expect(await edit(a.userId, utf8("v21"))).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    // Past the window (48 h by default): the object's clock moved instead of waiting.
    const late = await sendOk(stub, textSend(a.userId, b.userId, "late"));
    await runInDurableObject(stub, (instance) => {
      instance.now = () => Date.now() + 172_800_000 + 1_000;
    });
    expect(await edit(a.userId, utf8("too late"), late.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    await runInDurableObject(stub, (instance) => {
      instance.now = () => Date.now();
    });
    const gone = await sendOk(stub, textSend(a.userId, b.userId, "gone"));
    await stub.revoke({ userId: a.userId, serverMsgId: gone.serverMsgId, originSession: "" });
    expect(await edit(a.userId, utf8("back"), gone.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_INVALID_PARAM,
    });
    expect(text((await messageAt(stub, b.userId, late.seq)).message.content)).toBe("late");
  });
});

describe("an edit, a reaction and a pin where one may not send", () => {
  it("are refused on a block either way in a one-to-one, with the send's code, and change nothing", async () => {
    const { a, b, stub } = await pairConversation();
    const fromA = await sendOk(stub, textSend(a.userId, b.userId, "from a"));
    const fromB = await sendOk(stub, textSend(b.userId, a.userId, "from b"));
    const tryAll = async (userId: string, own: string, theirs: string) => [
      await stub.edit({ userId, serverMsgId: own, content: utf8("rewritten"), originSession: "" }),
      await stub.react({ userId, serverMsgId: theirs, emoji: "👍", remove: false, originSession: "" }),
      await stub.pin({ userId, serverMsgId: theirs, unpin: false, originSession: "" }),
    ];
    // b blocks a: a may not send to b, nor change what b sees; b, the blocker, may not reach a either.
    await stub.setBlocking(b.userId, true);
    for (const result of [
      ...(await tryAll(a.userId, fromA.serverMsgId, fromB.serverMsgId)),
      ...(await tryAll(b.userId, fromB.serverMsgId, fromA.serverMsgId)),
    ])
      expect(result).toMatchObject({ ok: false, code: Err.ERR_PERMISSION_DENIED });
    expect(await sendOne(stub, textSend(a.userId, b.userId, "hi"))).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    const kept = await messageAt(stub, b.userId, fromA.seq);
    expect(text(kept.message.content)).toBe("from a");
    expect(kept.modSeq).toBe(0);
    // Unblocked: all of it goes again.
    await stub.setBlocking(b.userId, false);
    for (const result of await tryAll(a.userId, fromA.serverMsgId, fromB.serverMsgId))
      expect(result).toMatchObject({ ok: true });
  });

  it("are refused to a muted member, under a group mute for all but its owner and admins, and in a dismissed group", async () => {
    const g = await groupConversation();
    const mine = await sendOk(g.stub, textSend(g.member.userId, "", "mine"));
    const admins = await sendOk(g.stub, textSend(g.admin.userId, "", "the admin's"));
    const editOf = (userId: string, serverMsgId: string) =>
      g.stub.edit({ userId, serverMsgId, content: utf8("new words"), originSession: "" });
    const reactOf = (userId: string, serverMsgId: string) =>
      g.stub.react({ userId, serverMsgId, emoji: "👍", remove: false, originSession: "" });
    expect(
      await g.stub.groupCommand({
        op: "mute",
        actor: g.owner.userId,
        userId: g.member.userId,
        seconds: 3600,
      }),
    ).toMatchObject({ ok: true });
    expect(await editOf(g.member.userId, mine.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    expect(await reactOf(g.member.userId, admins.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    // Another member is not muted.
    expect(await reactOf(g.other.userId, admins.serverMsgId)).toMatchObject({ ok: true });
    expect(
      await g.stub.groupCommand({ op: "mute", actor: g.owner.userId, userId: g.member.userId, seconds: 0 }),
    ).toMatchObject({ ok: true });
    expect(await g.stub.groupCommand({ op: "muteAll", actor: g.owner.userId, muted: true })).toMatchObject({
      ok: true,
    });
    expect(await editOf(g.member.userId, mine.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    expect(await reactOf(g.other.userId, mine.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    // The owner and admins still speak under a mute-all.
    expect(await editOf(g.admin.userId, admins.serverMsgId)).toMatchObject({ ok: true, editCount: 1 });
    expect(await reactOf(g.owner.userId, mine.serverMsgId)).toMatchObject({ ok: true });
    expect(await g.stub.groupCommand({ op: "dismiss", actor: g.owner.userId })).toMatchObject({ ok: true });
    expect(await editOf(g.admin.userId, admins.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    expect(await reactOf(g.owner.userId, admins.serverMsgId)).toMatchObject({
      ok: false,
      code: Err.ERR_PERMISSION_DENIED,
    });
    expect(
      await g.stub.pin({
        userId: g.owner.userId,
        serverMsgId: mine.serverMsgId,
        unpin: false,
        originSession: "",
      }),
    ).toMatchObject({ ok: false, code: Err.ERR_PERMISSION_DENIED });
    expect(text((await messageAt(g.stub, g.owner.userId, mine.seq)).message.content)).toBe("mine");
  });
});

describe("an edit's other effects", () => {
  it("is refused for a forwarded message: the words shown under another's name stay theirs", async () => {
    const { a, b, stub } = await pairConversation();
    const forward = await sendOk(
      stub,
      textSend(a.userId, b.userId, "what c said", { forwardedFrom: { senderId: "c", serverTime: 1 } }),
    );
    expect(
      await stub.edit({
        userId: a.userId,
        serverMsgId: forward.serverMsgId,
        content: utf8("what c never said"),
        originSession: "",
      }),
    ).toEqual({ ok: false, code: Err.ERR_INVALID_PARAM, message: "a forwarded message cannot be edited" });
    const kept = await messageAt(stub, b.userId, forward.seq);
    expect(text(kept.message.content)).toBe("what c said");
    expect(kept.rich.forwardedFrom).toEqual({ senderId: "c", serverTime: 1 });
  });

  it("gives every reply quoting the message its new snippet, a change each", async () => {
    const { a, b, stub } = await pairConversation();
    const quoted = await sendOk(stub, textSend(a.userId, b.userId, "see you at 5"));
    const replies = [
      await sendOk(stub, textSend(b.userId, a.userId, "ok", { replyTo: quoted.serverMsgId })),
      await sendOk(stub, textSend(a.userId, b.userId, "and bring it", { replyTo: quoted.serverMsgId })),
    ];
    await sendOk(stub, textSend(b.userId, a.userId, "unrelated"));
    // The reply counts took 1 and 2.
    expect(
      await stub.edit({
        userId: a.userId,
        serverMsgId: quoted.serverMsgId,
        content: utf8("see you at 6"),
        originSession: "",
      }),
    ).toMatchObject({ ok: true });
    const after = await Promise.all(replies.map((r) => messageAt(stub, b.userId, r.seq)));
    expect(after.map((r) => [r.rich.replyTo?.snippet, r.rich.replyTo?.revoked, r.rich.modSeq])).toEqual([
      ["see you at 6", false, 4],
      ["see you at 6", false, 5],
    ]);
    const changes = await stub.changes({ userId: b.userId, afterModSeq: 3, limit: 10, maxBytes: 1 << 20 });
    expect(changes.ok && changes.messages.map((m) => m.seq)).toEqual(replies.map((r) => r.seq));
  });
});

describe("edit history", () => {
  it("answers the newest versions within the byte budget, oldest first, and pages back to the original", async () => {
    const { a, b, stub } = await pairConversation();
    const sent = await sendOk(stub, textSend(a.userId, b.userId, "v0"));
    // 20 edits of 60 KiB each: the whole history is far past one frame.
    for (let i = 1; i <= 20; i++)
      expect(
        await stub.edit({
          userId: a.userId,
          serverMsgId: sent.serverMsgId,
          content: utf8(String(i % 10).repeat(60 * 1024)),
          originSession: "",
        }),
      ).toMatchObject({ ok: true, editCount: i });
    const page = (beforeVersion: number, maxBytes: number) =>
      stub.editHistory({ userId: b.userId, serverMsgId: sent.serverMsgId, beforeVersion, maxBytes });
    const budget = 200 * 1024;
    const seen: number[] = [];
    let before = 0;
    for (;;) {
      const answer = await page(before, budget);
      if (!answer.ok) throw new Error(answer.message);
      const bytes = answer.versions.reduce((n, v) => n + v.content.byteLength, 0);
      expect(bytes).toBeLessThanOrEqual(budget);
      const numbers = answer.versions.map((v) => v.version);
      // Oldest first within the page, each page older than the one before.
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
      seen.unshift(...numbers);
      if (!answer.hasMore) break;
      before = numbers[0]!;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // The first page holds the newest: version 20 replaced the 19th edit's content.
    const first = await page(0, budget);
    expect(first.ok && first.versions.map((v) => v.version)).toEqual([18, 19, 20]);
    expect(first.ok && text(first.versions[2]!.content)).toBe("9".repeat(60 * 1024));
    // The original is version 1; a budget smaller than one version still answers one.
    const last = await page(2, 1);
    expect(last).toMatchObject({ ok: true, hasMore: false });
    expect(last.ok && last.versions.map((v) => [v.version, text(v.content)])).toEqual([[1, "v0"]]);
  });
});

describe("change numbers", () => {
  it("are gapless: each reaction, edit and reply count takes the next one", async () => {
    const { a, b, stub } = await pairConversation();
    const one = await sendOk(stub, textSend(a.userId, b.userId, "one"));
    await stub.react({
      userId: b.userId,
      serverMsgId: one.serverMsgId,
      emoji: "👍",
      remove: false,
      originSession: "",
    });
    await stub.edit({
      userId: a.userId,
      serverMsgId: one.serverMsgId,
      content: utf8("one!"),
      originSession: "",
    });
    await sendOk(stub, textSend(b.userId, a.userId, "re", { replyTo: one.serverMsgId }));
    await stub.react({
      userId: a.userId,
      serverMsgId: one.serverMsgId,
      emoji: "👍",
      remove: false,
      originSession: "",
    });
    const read = await stub.read({
      userId: a.userId,
      fromSeq: 1,
      toSeq: 0,
      limit: 10,
      newest: false,
      maxBytes: 1 << 20,
    });
    if (!read.ok) throw new Error(read.message);
    expect(read.modSeq).toBe(4);
    expect(read.maxSeq).toBe(2);
    expect(decodeRich(read.messages[0]!.ext)).toMatchObject({ modSeq: 4, editCount: 1, replyCount: 1 });
  });
});

describe("an object whose messages were stored before rich messages", () => {
  it("gains the columns and tables on its next start: old messages read as plain and take changes", async () => {
    const { a, b, stub } = await pairConversation();
    const old = await sendOk(stub, textSend(a.userId, b.userId, "from the old days"));
    // Put the object back as the code before rich messages left it: no rich columns, tables or steps.
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      for (const statement of [
        "DROP INDEX messages_changes",
        "DROP INDEX messages_thread",
        "ALTER TABLE messages DROP COLUMN ext",
        "ALTER TABLE messages DROP COLUMN mod_seq",
        "ALTER TABLE messages DROP COLUMN reply_seq",
        "DROP TABLE reactions",
        "DROP TABLE edits",
        "DROP TABLE pins",
      ])
        sql.exec(statement);
      sql.exec("UPDATE _schema SET version = 9 WHERE name = 'messages'");
    });
    await evictDurableObject(stub);
    const before = await messageAt(stub, b.userId, old.seq);
    expect(before.message.ext).toBeUndefined();
    expect(before.modSeq).toBe(0);
    expect(
      await stub.react({
        userId: b.userId,
        serverMsgId: old.serverMsgId,
        emoji: "👴",
        remove: false,
        originSession: "",
      }),
    ).toMatchObject({ ok: true });
    expect((await messageAt(stub, a.userId, old.seq)).rich).toMatchObject({
      modSeq: 1,
      reactions: [{ emoji: "👴" }],
    });
  });
});
