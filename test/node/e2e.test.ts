// End to end: the real `wrangler dev` (started the way `npm run dev` starts it) driven by Node
// clients speaking the SDK's protocol over HTTP and WebSocket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount, postJson } from "./helpers/http-accounts";
import { Cmd, Err, NodeImClient, pb } from "./helpers/im-client";
import { singleConversationId } from "../../src/protocol/conversation-id.ts";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer();
});
afterAll(async () => {
  await server?.stop();
});

const post = <T>(path: string, body: unknown, token?: string) =>
  postJson<T>(server.origin, path, body, token);
const account = (name: string) => newAccount(server.origin, name);

describe("against wrangler dev", () => {
  it("serves /health and answers a bad body with code 400 in an HTTP 200 envelope the SDK reads", async () => {
    const health = await fetch(`${server.origin}/health`);
    expect(await health.json()).toEqual({ code: 0, message: "OK", data: { status: "healthy" } });
    const bad = await post("/api/auth/register", { username: "x" });
    expect(bad.status).toBe(200);
    expect(bad.body.code).toBe(400);
    expect(bad.body.message).toMatch(/username/);
  });

  it("lets two users message each other, go offline and catch up with nothing lost", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    const conversationId =
      alice.userId < bob.userId
        ? `single_${alice.userId}_${bob.userId}`
        : `single_${bob.userId}_${alice.userId}`;

    const a = await NodeImClient.connect(server.wsOrigin, alice.userId, alice.token);
    const b = await NodeImClient.connect(server.wsOrigin, bob.userId, bob.token);
    const acks = [];
    for (let i = 1; i <= 3; i++)
      acks.push(await a.sendText(conversationId, alice.userId, bob.userId, `hi ${i}`));
    expect(acks.map((ack) => ack.seq)).toEqual([1, 2, 3]);
    const live = await b.pushed(3);
    expect(live.map((m) => m.seq)).toEqual([1, 2, 3]);
    for (const m of live) b.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: m.seq });

    // A resend after a lost ack gets the original seq back.
    const resent = await a.sendText(conversationId, alice.userId, bob.userId, "hi 3", acks[2]!.clientMsgId!);
    expect(resent).toMatchObject({ seq: 3, serverMsgId: acks[2]!.serverMsgId });

    b.close();
    await b.closed;
    for (let i = 4; i <= 8; i++) await a.sendText(conversationId, alice.userId, bob.userId, `offline ${i}`);

    const back = await NodeImClient.connect(server.wsOrigin, bob.userId, bob.token);
    const sync = await back.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      { conversationStates: [{ conversationId, lastSeq: 3 }] },
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    expect(sync.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const entry = sync.conversationMessages.find((c) => c.conversationId === conversationId)!;
    expect((entry.messages ?? []).map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(entry).toMatchObject({ maxSeq: 8, syncedSeq: 8 });

    const range = await back.request(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      { requestId: "gap-1", conversationId, startSeq: 2, endSeq: 3 },
      Cmd.CMD_SYNC_RANGE_RSP,
      pb.SyncRangeResponse,
    );
    expect(range.requestId).toBe("gap-1");
    expect(range.messages.map((m) => new TextDecoder().decode(m.content ?? undefined))).toEqual([
      "hi 2",
      "hi 3",
    ]);
    a.close();
    back.close();
  });
});

describe("social and live features against wrangler dev", () => {
  it("runs a friend flow with notices, then a group conversation", async () => {
    const alice = await account("falice");
    const bob = await account("fbob");
    const carol = await account("fcarol");
    const bobSocket = await NodeImClient.connect(server.wsOrigin, bob.userId, bob.token);

    const add = await post(
      "/api/friend/add",
      { userID: bob.userId, message: "hello from alice" },
      alice.token,
    );
    expect(add.body.code).toBe(0);
    const [notice] = await bobSocket.pushed(1);
    expect(notice!.conversationId).toBe(`system_${bob.userId}`);
    expect(JSON.parse(new TextDecoder().decode(notice!.content))).toMatchObject({
      type: "friend_request",
      fromUserID: alice.userId,
    });
    const accepted = await post<{ friendUserID: string }>(
      "/api/friend/accept",
      { userID: alice.userId },
      bob.token,
    );
    expect(accepted.body.data.friendUserID).toBe(alice.userId);

    const group = await post<{ groupID: string; memberCount: number }>(
      "/api/group/create",
      { groupName: "E2E", faceURL: "", introduction: "", memberUserIDs: [bob.userId, carol.userId] },
      alice.token,
    );
    expect(group.body.data.memberCount).toBe(3);
    const conversationId = `group_${group.body.data.groupID}`;
    const aliceSocket = await NodeImClient.connect(server.wsOrigin, alice.userId, alice.token);
    const carolSocket = await NodeImClient.connect(server.wsOrigin, carol.userId, carol.token);
    const ack = await aliceSocket.sendText(conversationId, alice.userId, "", "hi group");
    expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    for (const socket of [bobSocket, carolSocket]) {
      const messages = await socket.pushedUntil((m) => m.seq === ack.seq);
      const last = messages.at(-1)!;
      expect(last).toMatchObject({
        conversationId,
        seq: ack.seq,
        senderId: alice.userId,
        conversationType: 2,
      });
    }
    for (const s of [aliceSocket, bobSocket, carolSocket]) s.close();
  });

  it("shows one receipt, one revoke and one typing push", async () => {
    const dana = await account("dana");
    const erin = await account("erin");
    const conversationId = singleConversationId(dana.userId, erin.userId);
    const d = await NodeImClient.connect(server.wsOrigin, dana.userId, dana.token);
    const e = await NodeImClient.connect(server.wsOrigin, erin.userId, erin.token);

    d.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId, status: 1 });
    const typing = pb.TypingStatusPush.decode(
      (await e.next((f) => f.command === Cmd.CMD_TYPING_STATUS_PUSH)).body,
    );
    expect(typing).toMatchObject({ conversationId, userId: dana.userId, status: 1 });

    const ack = await d.sendText(conversationId, dana.userId, erin.userId, "read this, then forget it");
    await e.pushed(1);
    const read = await e.request(
      Cmd.CMD_READ_RECEIPT_REQ,
      pb.ReadReceiptRequest,
      { conversationId, serverMsgIds: [] },
      Cmd.CMD_READ_RECEIPT_RSP,
      pb.ReadReceiptResponse,
    );
    expect(read.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const receipt = pb.ReadReceiptPush.decode(
      (await d.next((f) => f.command === Cmd.CMD_READ_RECEIPT_PUSH)).body,
    );
    expect(receipt).toMatchObject({ conversationId, userId: erin.userId, serverMsgIds: [ack.serverMsgId] });

    const revoked = await d.request(
      Cmd.CMD_REVOKE_MSG_REQ,
      pb.RevokeMessageRequest,
      { conversationId, serverMsgId: ack.serverMsgId },
      Cmd.CMD_REVOKE_MSG_RSP,
      pb.RevokeMessageResponse,
    );
    expect(revoked.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const push = pb.RevokeMessagePush.decode(
      (await e.next((f) => f.command === Cmd.CMD_REVOKE_MSG_PUSH)).body,
    );
    expect(push).toMatchObject({ conversationId, serverMsgId: ack.serverMsgId, revokedBy: dana.userId });
    d.close();
    e.close();
  });
});
