import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/auth/jwt";
import { REVOKE_WINDOW_MS } from "../../src/objects/conversation/revoke";
import { DELIVERED_FLUSH_MS } from "../../src/objects/user/delivered-marks";
import { MessageStatus } from "../../src/objects/message";
import { TokenBucket } from "../../src/objects/user/token-bucket";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser, sessionOf, type TestUser } from "./helpers/http";
import {
  nextReceipt,
  nextRevoke,
  nextTyping,
  onlineStatus,
  readReceipt,
  revoke,
  syncRange,
} from "./helpers/protocol";
import { afterConversationSends, restoreConversationSends } from "./helpers/faults";
import { TestSocket, text } from "./helpers/socket";
import { historyD1 } from "./helpers/history";

describe("read receipts", () => {
  it("reaches the sender's every device and the reader's other devices", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a, "iOS");
    const aDesk = await TestSocket.connect(a, "macOS");
    const bPhone = await TestSocket.connect(b, "iOS");
    const bTablet = await TestSocket.connect(b, "Android");
    const conversationId = singleConversationId(a.userId, b.userId);
    const acks = [];
    for (let i = 1; i <= 3; i++) acks.push(await aPhone.sendText(a.userId, b.userId, `m${i}`));
    await bPhone.pushedMessages(3);

    const response = await readReceipt(bPhone, conversationId);
    expect(response.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const newestFirst = acks.map((ack) => ack.serverMsgId).reverse();
    for (const device of [aPhone, aDesk]) {
      expect(await nextReceipt(device)).toMatchObject({
        conversationId,
        userId: b.userId,
        serverMsgIds: newestFirst,
      });
    }
    const mirrored = await nextReceipt(bTablet);
    expect(mirrored).toMatchObject({ conversationId, userId: b.userId });
    expect(mirrored.serverMsgIds ?? []).toEqual([]);
    // The reading device itself got its RSP, not a push.
    expect(bPhone.hasQueued(Cmd.CMD_READ_RECEIPT_PUSH)).toBe(false);
    for (const s of [aPhone, aDesk, bPhone, bTablet]) s.close();
  });

  it("reads up to the highest id named, moves forward only, and refuses ids from elsewhere", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const reader = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    const acks = [];
    for (let i = 1; i <= 5; i++) acks.push(await sender.sendText(a.userId, b.userId, `m${i}`));

    await readReceipt(reader, conversationId, [acks[1]!.serverMsgId!, acks[3]!.serverMsgId!]);
    const push = await nextReceipt(sender);
    expect(push.serverMsgIds).toEqual([
      acks[3]!.serverMsgId,
      acks[2]!.serverMsgId,
      acks[1]!.serverMsgId,
      acks[0]!.serverMsgId,
    ]);

    // An older receipt changes nothing and pushes nothing: the next push is for the 5th message.
    expect((await readReceipt(reader, conversationId, [acks[0]!.serverMsgId!])).errorCode ?? 0).toBe(
      Err.ERR_SUCCESS,
    );
    await readReceipt(reader, conversationId, [acks[4]!.serverMsgId!]);
    expect((await nextReceipt(sender)).serverMsgIds).toEqual([acks[4]!.serverMsgId]);

    const unknown = await readReceipt(reader, conversationId, ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    expect(unknown.errorCode).toBe(Err.ERR_INVALID_PARAM);
    const eve = await newUser("eve");
    const spy = await TestSocket.connect(eve);
    expect((await readReceipt(spy, conversationId)).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    for (const s of [sender, reader, spy]) s.close();
  });

  it("shows the sender's messages as sent, delivered, then read in later syncs", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const acks = [];
    for (let i = 1; i <= 3; i++) acks.push(await sender.sendText(a.userId, b.userId, `m${i}`));
    const statuses = async () =>
      ((await syncRange(sender, conversationId, 1)).messages ?? []).map((m) => m.status);
    expect(await statuses()).toEqual([MessageStatus.sent, MessageStatus.sent, MessageStatus.sent]);

    const reader = await TestSocket.connect(b);
    await syncRange(reader, conversationId, 1); // fetching them is delivery, marked within a second
    await expect
      .poll(statuses, { timeout: DELIVERED_FLUSH_MS * 5, interval: 100 })
      .toEqual([MessageStatus.delivered, MessageStatus.delivered, MessageStatus.delivered]);

    await readReceipt(reader, conversationId, [acks[1]!.serverMsgId!]);
    expect(await statuses()).toEqual([MessageStatus.read, MessageStatus.read, MessageStatus.delivered]);
    const readerView = (await syncRange(reader, conversationId, 1)).messages ?? [];
    expect(readerView.map((m) => m.isRead ?? false)).toEqual([true, true, false]);
    sender.close();
    reader.close();
  });
});

describe("revoke", () => {
  it("revokes for every member device and leaves no content in sync or in D1", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a, "iOS");
    const aDesk = await TestSocket.connect(a, "macOS");
    const bPhone = await TestSocket.connect(b, "iOS");
    const conversationId = singleConversationId(a.userId, b.userId);
    const ack = await aPhone.sendText(a.userId, b.userId, "oops");
    await bPhone.pushedMessages(1);

    expect((await revoke(aPhone, conversationId, ack.serverMsgId!)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    for (const device of [bPhone, aDesk]) {
      expect(await nextRevoke(device)).toMatchObject({
        conversationId,
        serverMsgId: ack.serverMsgId,
        revokedBy: a.userId,
      });
    }
    expect(aPhone.hasQueued(Cmd.CMD_REVOKE_MSG_PUSH)).toBe(false);

    const [seen] = (await syncRange(bPhone, conversationId, 1)).messages ?? [];
    expect(seen).toMatchObject({ serverMsgId: ack.serverMsgId, isRevoked: true, revokedBy: a.userId });
    expect(seen!.revokedTime).toBeGreaterThan(0);
    expect(text(seen!.content)).toBe("");

    while (await runDurableObjectAlarm(env.CONVERSATION_OBJECT.getByName(conversationId)));
    const row = await (
      await historyD1(conversationId)
    )
      .prepare("SELECT is_revoked, revoked_by, length(content) AS size FROM messages WHERE server_msg_id = ?")
      .bind(ack.serverMsgId)
      .first();
    expect(row).toEqual({ is_revoked: 1, revoked_by: a.userId, size: 0 });

    expect((await revoke(aPhone, conversationId, ack.serverMsgId!)).errorCode).toBe(Err.ERR_INVALID_PARAM);
    for (const s of [aPhone, aDesk, bPhone]) s.close();
  });

  it("refuses to revoke another user's message", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const other = await TestSocket.connect(b);
    const ack = await sender.sendText(a.userId, b.userId, "mine");
    const response = await revoke(other, singleConversationId(a.userId, b.userId), ack.serverMsgId!);
    expect(response.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(response.errorMsg).toMatch(/sender/);
    sender.close();
    other.close();
  });

  it("refuses a revoke after the 2-minute window (clock moved, not slept)", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const sender = await TestSocket.connect(a);
    const conversationId = singleConversationId(a.userId, b.userId);
    const ack = await sender.sendText(a.userId, b.userId, "old news");
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName(conversationId), (instance) => {
      instance.now = () => Date.now() + REVOKE_WINDOW_MS + 1_000;
    });
    const response = await revoke(sender, conversationId, ack.serverMsgId!);
    expect(response.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(response.errorMsg).toMatch(/within 2 minutes/);
    sender.close();
  });
});

describe("a revoke that overtakes its message", () => {
  it("reaches the devices after the message, and leaves the inbox's last message revoked", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a);
    const bPhone = await TestSocket.connect(b);
    const bDesk = await TestSocket.connect(b, "macOS");
    const conversationId = singleConversationId(a.userId, b.userId);
    const bObject = env.USER_OBJECT.getByName(b.userId);
    // B's own send is stored (seq 1) but its answer is held: A's next message (seq 2) then parks
    // in B's object behind it, and A's revoke of seq 2 comes before the message.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await afterConversationSends(b.userId, async (outcome) => {
      await held;
      return outcome;
    });
    const bSend = bPhone.sendText(b.userId, a.userId, "mine first");
    await expect.poll(async () => (await syncRange(aPhone, conversationId, 1)).messages?.length).toBe(1);
    const message = await aPhone.sendText(a.userId, b.userId, "oops");
    expect(message.seq).toBe(2);
    expect((await revoke(aPhone, conversationId, message.serverMsgId!)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    release();
    expect((await bSend).seq).toBe(1);
    await restoreConversationSends(b.userId);

    // bDesk: its own-sent seq 1, then A's seq 2, and only then the revoke of seq 2.
    const before = await bDesk.drainUntil((f) => f.command === Cmd.CMD_REVOKE_MSG_PUSH);
    const seqsBefore = before.flatMap((f) =>
      f.command === Cmd.CMD_PUSH_MSG
        ? [Number(pb.PushMessage.decode(f.body).message?.seq)]
        : f.command === Cmd.CMD_BATCH_MSG
          ? pb.BatchMessages.decode(f.body).messages.map((m) => Number(m.message?.seq))
          : [],
    );
    expect(seqsBefore).toEqual([1, 2]);
    await runInDurableObject(bObject, (_instance, state) => {
      const row = state.storage.sql
        .exec<{ last_message: ArrayBuffer }>(
          "SELECT last_message FROM inbox WHERE conversation_id = ?",
          conversationId,
        )
        .toArray()[0];
      const last = pb.MessageInfo.decode(new Uint8Array(row!.last_message));
      expect(last).toMatchObject({ serverMsgId: message.serverMsgId, isRevoked: true });
    });
    for (const s of [aPhone, bPhone, bDesk]) s.close();
  });
});

describe("typing", () => {
  it("relays typing to the peer's devices only", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aPhone = await TestSocket.connect(a, "iOS");
    const aDesk = await TestSocket.connect(a, "macOS");
    const bPhone = await TestSocket.connect(b, "iOS");
    const bTablet = await TestSocket.connect(b, "Android");
    const conversationId = singleConversationId(a.userId, b.userId);
    aPhone.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId, status: 1 });
    for (const device of [bPhone, bTablet]) {
      expect(await nextTyping(device)).toMatchObject({ conversationId, userId: a.userId, status: 1 });
    }
    expect(aDesk.hasQueued(Cmd.CMD_TYPING_STATUS_PUSH)).toBe(false);
    for (const s of [aPhone, aDesk, bPhone, bTablet]) s.close();
  });

  it("answers typing in a conversation the user is not in with an ErrorNotice", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    const socket = await TestSocket.connect(a);
    const sequence = socket.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, {
      conversationId: singleConversationId(b.userId, c.userId),
      status: 1,
    });
    const notice = pb.ErrorNotice.decode((await socket.nextCommand(Cmd.CMD_UNKNOWN)).body);
    expect(notice).toMatchObject({ errorCode: Err.ERR_PERMISSION_DENIED, refSequence: sequence });
    socket.close();
  });

  it("throttles typing with a token bucket", () => {
    let now = 0;
    const bucket = new TokenBucket(2, 5, () => now);
    const burst = Array.from({ length: 10 }, () => bucket.take());
    expect(burst.filter(Boolean)).toHaveLength(5);
    now += 1_000;
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  });
});

describe("presence", () => {
  it("reports online friends with their platforms, and last_seen for those gone", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    for (const friend of [a, c]) {
      await api("/api/friend/add", { body: { userID: friend.userId, message: "" }, token: b.token });
      await api("/api/friend/accept", { body: { userID: b.userId }, token: friend.token });
    }
    const aPhone = await TestSocket.connect(a, "iOS");
    const aDesk = await TestSocket.connect(a, "macOS");
    const cPhone = await TestSocket.connect(c, "iOS");
    cPhone.close();
    await cPhone.closed;
    const asker = await TestSocket.connect(b);
    const ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    await expect.poll(async () => (await onlineStatus(asker, [c.userId])).statuses?.[0]?.online).toBe(false);
    const response = await onlineStatus(asker, [a.userId, c.userId, ghost]);
    const byId = new Map((response.statuses ?? []).map((s) => [s.userId, s]));
    expect(byId.get(a.userId)).toMatchObject({ online: true });
    expect([...(byId.get(a.userId)!.platforms ?? [])].sort()).toEqual(["iOS", "macOS"]);
    expect(byId.get(c.userId)!.online ?? false).toBe(false);
    expect(byId.get(c.userId)!.lastSeen).toBeGreaterThan(0);
    expect(byId.get(ghost)).toMatchObject({ lastSeen: 0 });
    for (const s of [aPhone, aDesk, asker]) s.close();
  });
});

describe("presence pushes", () => {
  async function friends(a: TestUser, b: TestUser) {
    await api("/api/friend/add", { body: { userID: b.userId, message: "" }, token: a.token });
    await api("/api/friend/accept", { body: { userID: a.userId }, token: b.token });
  }
  const nextStatus = async (socket: TestSocket) =>
    pb.StatusChangePush.decode((await socket.nextCommand(Cmd.CMD_STATUS_CHANGE_PUSH)).body).status!;
  const roundTrip = (socket: TestSocket) =>
    socket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      {},
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );

  it("answers AUTH once and serves the next frame while the friends cannot be read, then tells them", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    await friends(a, b);
    const bSocket = await TestSocket.connect(b);
    // D1 cannot answer who a's friends are: presence fails after AUTH has been answered.
    await env.DB.prepare("ALTER TABLE friends RENAME TO friends_offline").run();
    let aSocket: TestSocket;
    try {
      aSocket = await TestSocket.open(a.token);
      const auth = await aSocket.auth(a.userId, a.token);
      expect(auth.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
      await roundTrip(aSocket); // the next frame is answered while the announcement is failing
    } finally {
      await env.DB.prepare("ALTER TABLE friends_offline RENAME TO friends").run();
    }
    // The retry tells b; the AUTH request was never answered a second time.
    expect(await nextStatus(bSocket)).toMatchObject({ userId: a.userId, online: true });
    expect(aSocket.hasQueued(Cmd.CMD_AUTH_RSP)).toBe(false);
    aSocket.close();
    bSocket.close();
  });

  it("tells online friends when a user comes online and, after the grace period, goes offline", async () => {
    const [a, b, stranger] = [await newUser("a"), await newUser("b"), await newUser("s")];
    await friends(a, b);
    const bSocket = await TestSocket.connect(b);
    const strangerSocket = await TestSocket.connect(stranger);
    const aSocket = await TestSocket.connect(a, "iOS");
    expect(await nextStatus(bSocket)).toMatchObject({ userId: a.userId, online: true, platforms: ["iOS"] });
    aSocket.close();
    const offline = await nextStatus(bSocket);
    expect(offline).toMatchObject({ userId: a.userId });
    expect(offline.online ?? false).toBe(false);
    expect(offline.lastSeen).toBeGreaterThan(0);
    await roundTrip(strangerSocket);
    expect(strangerSocket.hasQueued(Cmd.CMD_STATUS_CHANGE_PUSH)).toBe(false);
    bSocket.close();
    strangerSocket.close();
  });

  it("pushes nothing when a device drops and reconnects within the grace period", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    await friends(a, b);
    const bSocket = await TestSocket.connect(b);
    const first = await TestSocket.connect(a, "iOS");
    await nextStatus(bSocket); // online
    first.close();
    await first.closed;
    const second = await TestSocket.connect(a, "iOS");
    // Whatever alarm was pending runs now: it must find the user back online.
    await runDurableObjectAlarm(env.USER_OBJECT.getByName(a.userId));
    await roundTrip(bSocket);
    expect(bSocket.hasQueued(Cmd.CMD_STATUS_CHANGE_PUSH)).toBe(false);
    second.close();
    bSocket.close();
  });
});

describe("multi-device", () => {
  it("kicks the older connection on the same platform with KICK_OUT reason 1 and close 4001", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const first = await TestSocket.connect(a, "iOS");
    const second = await TestSocket.connect(a, "iOS");
    const kick = pb.KickOutNotification.decode((await first.nextCommand(Cmd.CMD_KICK_OUT)).body);
    expect(kick.reason).toBe(1);
    expect((await first.closed).code).toBe(4001);
    const peer = await TestSocket.connect(b);
    await peer.sendText(b.userId, a.userId, "to the new one");
    expect((await second.pushedMessages(1))[0]).toMatchObject({ seq: 1 });
    second.close();
    peer.close();
  });

  it("keeps connections on different platforms live together", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const phone = await TestSocket.connect(a, "iOS");
    const tablet = await TestSocket.connect(a, "Android");
    const peer = await TestSocket.connect(b);
    await peer.sendText(b.userId, a.userId, "both");
    expect((await phone.pushedMessages(1))[0]!.seq).toBe(1);
    expect((await tablet.pushedMessages(1))[0]!.seq).toBe(1);
    expect(phone.hasQueued(Cmd.CMD_KICK_OUT) || tablet.hasQueued(Cmd.CMD_KICK_OUT)).toBe(false);
    for (const s of [phone, tablet, peer]) s.close();
  });

  it("renews the token on a live socket with REAUTH", async () => {
    const a = await newUser("a");
    const socket = await TestSocket.connect(a);
    const fresh = await signAccessToken(
      env.JWT_SECRET,
      { userId: a.userId, platform: "iOS", sessionId: sessionOf(a.token) },
      3600,
    );
    const response = await socket.request(
      Cmd.CMD_REAUTH_REQ,
      pb.AuthRequest,
      { userId: a.userId, token: fresh.token, platform: "iOS" },
      Cmd.CMD_REAUTH_RSP,
      pb.AuthResponse,
    );
    expect(response.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    socket.close();
  });
});

describe("send rate", () => {
  it("refuses sends past the user's token bucket with ERR_SEND_TOO_FAST", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    await runInDurableObject(env.USER_OBJECT.getByName(a.userId), (instance) => {
      // A bucket of 3 that refills once every 1000 s: the 4th send in a row is over the limit.
      instance["services"]().sendLimiter = new TokenBucket(0.001, 3);
    });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await socket.sendText(a.userId, b.userId, `m${i}`));
    expect(results.map((r) => r.errorCode ?? 0)).toEqual([0, 0, 0, Err.ERR_SEND_TOO_FAST]);
    expect(results[3]!.seq ?? 0).toBe(0);
    socket.close();
  });
});
