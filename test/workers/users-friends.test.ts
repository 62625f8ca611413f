import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSettings } from "../../src/config/settings";
import { FRIEND_REQUEST_WINDOW_MS } from "../../src/auth/throttle";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { api, newUser, refusal, type TestUser } from "./helpers/http";
import { TestSocket, text } from "./helpers/socket";

interface UserJson {
  userID: string;
  nickname: string;
  avatar: string;
  signature: string;
  gender: number;
  birth: number;
}
interface FriendJson {
  friendUserID: string;
  ownerUserID: string;
  remark: string;
  user: UserJson;
}

const post = <T = unknown>(path: string, user: TestUser, body?: unknown) =>
  api<T>(path, body === undefined ? { method: "POST", token: user.token } : { body, token: user.token });

/** The next notice (message_type 8) pushed to a device, parsed. */
async function nextNotice(socket: TestSocket): Promise<Record<string, unknown>> {
  const [message] = await socket.pushedMessages(1);
  expect(message!.messageType).toBe(8);
  expect(message!.conversationType).toBe(4);
  return JSON.parse(text(message!.content)) as Record<string, unknown>;
}

describe("users", () => {
  it("updates the caller's own profile and refuses someone else's", async () => {
    const me = await newUser("me");
    const other = await newUser("other");
    const update = {
      nickname: "Me Myself",
      avatar: "https://x.test/a.png",
      signature: "hi",
      gender: 2,
      birth: 19900101,
    };
    const response = await post<UserJson>("/api/user/update", me, { userID: me.userId, ...update });
    expect(response.body.data).toMatchObject({ userID: me.userId, ...update });
    const info = await api<UserJson>(`/api/user/info/${me.userId}`, { token: other.token });
    expect(info.body.data!.nickname).toBe("Me Myself");

    const refused = await post("/api/user/update", me, { userID: other.userId, ...update });
    expect(refusal(refused)).toBe(403);
    const bad = await post("/api/user/update", me, { ...update, gender: 7 });
    expect(refusal(bad)).toBe(400);
    expect(bad.body.message).toMatch(/gender/);
  });

  it("searches by username prefix, nickname prefix (any case) and exact id, paged", async () => {
    const tag = `srch${Date.now().toString(36)}`;
    const alice = await newUser(`${tag}alice`);
    const bob = await newUser(`${tag}bob`);
    await post("/api/user/update", bob, {
      nickname: "Zebra Crossing",
      avatar: "",
      signature: "",
      gender: 0,
      birth: 0,
    });
    const search = async (query: string) =>
      (await api<UserJson[]>(`/api/user/search?${query}`, { token: alice.token })).body.data!.map(
        (u) => u.userID,
      );

    expect((await search(`keyword=${tag}`)).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(await search("keyword=zEbRa%20cross")).toEqual([bob.userId]);
    expect(await search(`keyword=${bob.userId}`)).toEqual([bob.userId]);
    expect(await search(`keyword=${tag}&limit=1`)).toHaveLength(1);
    expect(refusal(await api("/api/user/search?keyword=", { token: alice.token }))).toBe(400);
  });

  it("searches through indexes, never by scanning the users table", async () => {
    for (const [query, params] of [
      ["SELECT id FROM users WHERE username >= ? AND username < ?", ["ab", "ab\u{10FFFF}"]],
      ["SELECT id FROM users WHERE lower(nickname) >= ? AND lower(nickname) < ?", ["ab", "ab\u{10FFFF}"]],
    ] as const) {
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`)
        .bind(...params)
        .all<{ detail: string }>();
      const details = plan.results.map((r) => r.detail).join("; ");
      expect(details).toMatch(/USING (COVERING )?INDEX/);
      expect(details).not.toMatch(/SCAN users/);
    }
  });
});

describe("friends", () => {
  it("runs request → accept → remark → delete, with notices to the other user", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const bSocket = await TestSocket.connect(b);
    const aSocket = await TestSocket.connect(a);

    const add = await post("/api/friend/add", a, { userID: b.userId, message: "hi, it's a" });
    expect(add.body).toMatchObject({ code: 0 });
    expect(add.body.data ?? null).toBeNull();
    expect(await nextNotice(bSocket)).toMatchObject({
      type: "friend_request",
      fromUserID: a.userId,
      message: "hi, it's a",
    });

    const incoming = await api<{ fromUserID: string; message: string }[]>("/api/friend/requests", {
      token: b.token,
    });
    expect(incoming.body.data).toMatchObject([{ fromUserID: a.userId, message: "hi, it's a" }]);
    const outgoing = await api<{ toUserID: string }[]>("/api/friend/requests?direction=outgoing", {
      token: a.token,
    });
    expect(outgoing.body.data).toMatchObject([{ toUserID: b.userId }]);

    const accepted = await post<FriendJson>("/api/friend/accept", b, { userID: a.userId });
    expect(accepted.body.data).toMatchObject({
      ownerUserID: b.userId,
      friendUserID: a.userId,
      user: { userID: a.userId },
    });
    expect(await nextNotice(aSocket)).toMatchObject({ type: "friend_accepted", userID: b.userId });

    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const list = await api<FriendJson[]>("/api/friend/list", { token: me.token });
      expect(list.body.data!.map((f) => f.friendUserID)).toEqual([other.userId]);
      const check = await api<boolean>(`/api/friend/check?userID=${other.userId}`, { token: me.token });
      expect(check.body.data).toBe(true);
    }

    const remark = await post<FriendJson>("/api/friend/remark", a, { userID: b.userId, remark: "Bobby" });
    expect(remark.body.data).toMatchObject({ friendUserID: b.userId, remark: "Bobby" });

    expect((await post("/api/friend/delete", a, { userID: b.userId })).body.code).toBe(0);
    expect(await nextNotice(bSocket)).toMatchObject({ type: "friend_deleted", userID: a.userId });
    for (const me of [a, b]) {
      expect((await api<FriendJson[]>("/api/friend/list", { token: me.token })).body.data).toEqual([]);
    }
    aSocket.close();
    bSocket.close();
  });

  it("rejects a request, and turns crossed requests into a friendship", async () => {
    const [a, b, c] = [await newUser("a"), await newUser("b"), await newUser("c")];
    await post("/api/friend/add", a, { userID: b.userId, message: "" });
    expect((await post("/api/friend/reject", b, { userID: a.userId })).body.code).toBe(0);
    expect((await api<boolean>(`/api/friend/check?userID=${b.userId}`, { token: a.token })).body.data).toBe(
      false,
    );
    expect((await api<unknown[]>("/api/friend/requests", { token: b.token })).body.data).toEqual([]);

    await post("/api/friend/add", a, { userID: c.userId, message: "" });
    await post("/api/friend/add", c, { userID: a.userId, message: "" });
    expect((await api<boolean>(`/api/friend/check?userID=${a.userId}`, { token: c.token })).body.data).toBe(
      true,
    );
  });

  it("refuses what makes no sense: self, unknown users, missing requests, bad bodies, no token", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    expect(refusal(await post("/api/friend/add", a, { userID: a.userId, message: "" }))).toBe(400);
    expect(
      refusal(await post("/api/friend/add", a, { userID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", message: "" })),
    ).toBe(404);
    expect(refusal(await post("/api/friend/accept", a, { userID: b.userId }))).toBe(404);
    expect(refusal(await post("/api/friend/reject", a, { userID: b.userId }))).toBe(404);
    expect(refusal(await post("/api/friend/remark", a, { userID: b.userId, remark: "x" }))).toBe(404);
    expect(refusal(await post("/api/friend/add", a, { userID: 42 }))).toBe(400);
    expect(refusal(await post("/api/friend/add", a, {}))).toBe(400);
    expect(refusal(await api("/api/friend/check", { token: a.token }))).toBe(400);
    expect(refusal(await api("/api/friend/requests?direction=sideways", { token: a.token }))).toBe(400);
    expect((await api("/api/friend/list")).status).toBe(401);
  });

  it("stops a blocked user's messages and friend requests until unblocked", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aSocket = await TestSocket.connect(a);
    expect((await aSocket.sendText(a.userId, b.userId, "before")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);

    expect((await post("/api/friend/block", b, { userID: a.userId })).body.code).toBe(0);
    const blocked = await aSocket.sendText(a.userId, b.userId, "after");
    expect(blocked.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(refusal(await post("/api/friend/add", a, { userID: b.userId, message: "" }))).toBe(403);
    const list = await api<UserJson[]>("/api/friend/blocks", { token: b.token });
    expect(list.body.data!.map((u) => u.userID)).toEqual([a.userId]);
    // The blocker can still write.
    const bSocket = await TestSocket.connect(b);
    expect((await bSocket.sendText(b.userId, a.userId, "i can")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);

    expect((await post("/api/friend/unblock", b, { userID: a.userId })).body.code).toBe(0);
    const again = await aSocket.sendText(a.userId, b.userId, "again");
    expect(again.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(again.seq).toBe(3);
    aSocket.close();
    bSocket.close();
  });

  it("keeps notices for an offline user until their next sync", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    await post("/api/friend/add", a, { userID: b.userId, message: "while you were out" });
    const bSocket = await TestSocket.connect(b);
    const sync = await bSocket.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      {},
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    const system = sync.conversationMessages.find((c) => c.conversationId === `system_${b.userId}`);
    expect(system).toBeDefined();
    expect(JSON.parse(text(system!.messages![0]!.content))).toMatchObject({
      type: "friend_request",
      fromUserID: a.userId,
    });
    bSocket.close();
  });

  it("answers a repeated request without a new notice, and refuses one within the cooldown after a rejection", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const bSocket = await TestSocket.connect(b);
    const roundTrip = () =>
      bSocket.request(
        Cmd.CMD_HEARTBEAT_REQ,
        pb.HeartbeatRequest,
        {},
        Cmd.CMD_HEARTBEAT_RSP,
        pb.HeartbeatResponse,
      );
    expect((await post("/api/friend/add", a, { userID: b.userId, message: "hi" })).body.code).toBe(0);
    expect(await nextNotice(bSocket)).toMatchObject({ type: "friend_request", fromUserID: a.userId });
    for (let i = 0; i < 5; i++) {
      const again = await post("/api/friend/add", a, { userID: b.userId, message: "hi again" });
      expect(again.body).toMatchObject({ code: 0, message: "friend request already sent" });
    }
    await roundTrip();
    expect(bSocket.hasQueued(Cmd.CMD_PUSH_MSG) || bSocket.hasQueued(Cmd.CMD_BATCH_MSG)).toBe(false);

    expect((await post("/api/friend/reject", b, { userID: a.userId })).body.code).toBe(0);
    const refused = await post("/api/friend/add", a, { userID: b.userId, message: "please" });
    expect(refusal(refused)).toBe(429);
    expect(refused.body.message).toMatch(/declined your last friend request: try again in \d+ s/);
    await roundTrip();
    expect(bSocket.hasQueued(Cmd.CMD_PUSH_MSG) || bSocket.hasQueued(Cmd.CMD_BATCH_MSG)).toBe(false);
    expect((await api<unknown[]>("/api/friend/requests", { token: b.token })).body.data).toEqual([]);

    // Once the cooldown has passed (the rejection moved back in time), a request goes through.
    const cooldownMs = readSettings(env).friendRequestCooldownSeconds * 1000;
    await env.DB.prepare("UPDATE friend_requests SET updated_at = updated_at - ? WHERE from_user_id = ?")
      .bind(cooldownMs, a.userId)
      .run();
    expect((await post("/api/friend/add", a, { userID: b.userId, message: "later" })).body.code).toBe(0);
    expect(await nextNotice(bSocket)).toMatchObject({ type: "friend_request", message: "later" });
    bSocket.close();
  });

  it("refuses new friend requests past FRIEND_REQUESTS_PER_HOUR per sender with 429", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const perHour = readSettings(env).friendRequestsPerHour;
    const guard = env.GUARD_OBJECT.getByName(`friend-request:${a.userId}`);
    // The hour's budget spent (as by perHour requests to others), then one more request.
    for (let i = 0; i < perHour; i++) await guard.take(perHour, FRIEND_REQUEST_WINDOW_MS);
    const refused = await post("/api/friend/add", a, { userID: b.userId, message: "" });
    expect(refusal(refused)).toBe(429);
    expect(refused.body.message).toMatch(/too many friend requests/);
    expect((await api<unknown[]>("/api/friend/requests", { token: b.token })).body.data).toEqual([]);
    const sync = await (
      await TestSocket.connect(b)
    ).request(Cmd.CMD_BATCH_SYNC_REQ, pb.BatchSyncRequest, {}, Cmd.CMD_BATCH_SYNC_RSP, pb.BatchSyncResponse);
    expect(sync.conversationMessages).toEqual([]); // no notice was posted
  });
});
