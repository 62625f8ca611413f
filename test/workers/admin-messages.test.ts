// The admin API's message removal, as the conversation's members see it: any message (not the
// admin's, past the revoke window) arrives on every device as a revoke push by "admin", syncs as
// revoked with its content gone, and D1's history row is emptied too.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_ACTOR } from "../../src/objects/admin-actor";
import { REVOKE_WINDOW_MS } from "../../src/objects/conversation/revoke";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { adminApi, adminOk, latestAudit } from "./helpers/admin";
import { createGroup, sendToGroup } from "./helpers/groups";
import { newUser, refusal } from "./helpers/http";
import { nextRevoke, syncRange } from "./helpers/protocol";
import { TestSocket, text } from "./helpers/socket";
import { historyD1 } from "./helpers/history";

describe("removing a message", () => {
  it("reaches every member's devices as a revoke by the admin and syncs as revoked, past the revoke window", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a);
    const aDesk = await TestSocket.connect(a, "macOS");
    const bPhone = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    const ack = await aPhone.sendText(a.userId, b.userId, "abuse");
    const conversation = env.CONVERSATION_OBJECT.getByName(conversationId);
    await runInDurableObject(conversation, (instance) => {
      instance.now = () => Date.now() + REVOKE_WINDOW_MS + 60_000;
    });

    const removed = await adminOk<{ seq: number; serverMsgID: string }>("/messages/remove", {
      body: { conversationID: conversationId, seq: ack.seq },
    });
    expect(removed).toMatchObject({ seq: ack.seq, serverMsgID: ack.serverMsgId });

    // Every device, the sender's too: no device asked for this revoke.
    for (const socket of [aPhone, aDesk, bPhone]) {
      expect(await nextRevoke(socket)).toMatchObject({
        conversationId,
        serverMsgId: ack.serverMsgId,
        revokedBy: ADMIN_ACTOR,
      });
    }
    const [synced] = (await syncRange(bPhone, conversationId, 1)).messages ?? [];
    expect(synced).toMatchObject({ serverMsgId: ack.serverMsgId, isRevoked: true, revokedBy: ADMIN_ACTOR });
    expect(text(synced!.content)).toBe("");

    while (await runDurableObjectAlarm(conversation));
    const row = await (
      await historyD1(conversationId)
    )
      .prepare("SELECT is_revoked, revoked_by, length(content) AS size FROM messages WHERE server_msg_id = ?")
      .bind(ack.serverMsgId)
      .first();
    expect(row).toEqual({ is_revoked: 1, revoked_by: ADMIN_ACTOR, size: 0 });
    expect((await latestAudit(1))[0]).toMatchObject({
      action: "message.remove",
      target: conversationId,
      params: { seq: ack.seq },
      outcomeCode: 0,
    });
    for (const s of [aPhone, aDesk, bPhone]) s.close();
  });

  it("removes a group message by its server_msg_id, for every member", async () => {
    const [owner, member] = [await newUser("owner"), await newUser("member")];
    const group = await createGroup(owner, [member]);
    const ownerSocket = await TestSocket.connect(owner);
    const memberSocket = await TestSocket.connect(member);
    const ack = await sendToGroup(memberSocket, group.groupID, "spam");
    await adminOk("/messages/remove", {
      body: { conversationID: `group_${group.groupID}`, serverMsgID: ack.serverMsgId },
    });
    for (const socket of [ownerSocket, memberSocket]) {
      expect((await nextRevoke(socket)).serverMsgId).toBe(ack.serverMsgId);
    }
    ownerSocket.close();
    memberSocket.close();
  });

  it("refuses a missing message (404), a second removal (409) and bad input (400)", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const conversationID = singleConversationId(a.userId, b.userId);
    const ack = await socket.sendText(a.userId, b.userId, "once");
    socket.close();
    const remove = (body: unknown) => adminApi("/messages/remove", { body });
    expect(refusal(await remove({ conversationID, seq: 99 }))).toBe(404);
    expect((await remove({ conversationID, seq: ack.seq })).body.code).toBe(0);
    expect(refusal(await remove({ conversationID, seq: ack.seq }))).toBe(409);
    expect(refusal(await remove({ conversationID, seq: ack.seq, serverMsgID: ack.serverMsgId }))).toBe(400);
    expect(refusal(await remove({ conversationID }))).toBe(400);
    expect(refusal(await remove({ conversationID: "chatroom_lobby", seq: 1 }))).toBe(400);
    expect(refusal(await remove({ conversationID: "single_b_a", seq: 1 }))).toBe(400);
    expect(refusal(await remove({ conversationID, seq: 0 }))).toBe(400);
    expect(refusal(await remove({ conversationID: "group_NOSUCHGROUP", seq: 1 }))).toBe(404);
  });
});
