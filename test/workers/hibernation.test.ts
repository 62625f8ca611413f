import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

describe("state across hibernation", () => {
  it("keeps sockets, auth, seqs, dedup and the inbox when both objects are evicted", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b);
    const clientMsgId = crypto.randomUUID();
    const first = await sender.sendText(a.userId, b.userId, "before", clientMsgId);
    await sender.sendText(a.userId, b.userId, "before 2");
    await receiver.pushedMessages(2);

    const conversationId = singleConversationId(a.userId, b.userId);
    await evictDurableObject(env.CONVERSATION_OBJECT.getByName(conversationId));
    await evictDurableObject(env.USER_OBJECT.getByName(a.userId));
    await evictDurableObject(env.USER_OBJECT.getByName(b.userId));

    // The hibernated sockets are still authenticated: no new AUTH is needed.
    const resend = await sender.sendText(a.userId, b.userId, "before", clientMsgId);
    expect(resend).toMatchObject({ seq: first.seq, serverMsgId: first.serverMsgId });
    const after = await sender.sendText(a.userId, b.userId, "after");
    expect(after.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(after.seq).toBe(3);
    const [pushed] = await receiver.pushedMessages(1);
    expect(pushed).toMatchObject({ seq: 3, serverMsgId: after.serverMsgId });

    const again = await TestSocket.open(b.token);
    expect((await again.auth(b.userId, b.token)).maxSeq).toBe(3);
    const sync = await again.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      { conversationStates: [{ conversationId, lastSeq: 0 }] },
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    expect((sync.conversationMessages[0]!.messages ?? []).map((m) => m.seq)).toEqual([1, 2, 3]);
    for (const s of [sender, receiver, again]) s.close();
  });

  it("leaves no alarm armed once every socket has authenticated, so an idle user's object can sleep", async () => {
    const a = await newUser("a");
    const stub = env.USER_OBJECT.getByName(a.userId);
    const alarm = () => runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    const phone = await TestSocket.open(a.token);
    expect(await alarm()).not.toBeNull(); // the authentication deadline
    const desktop = await TestSocket.open(a.token);
    expect((await phone.auth(a.userId, a.token)).errorCode).toBe(Err.ERR_SUCCESS);
    expect(await alarm()).not.toBeNull(); // the desktop has still to authenticate
    expect((await desktop.auth(a.userId, a.token, "macOS")).errorCode).toBe(Err.ERR_SUCCESS);
    expect(await alarm()).toBeNull();
    phone.close();
    desktop.close();
  });
});
