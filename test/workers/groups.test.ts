import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSettings } from "../../src/config/settings";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { createGroup, sendToGroup, type GroupJson } from "./helpers/groups";
import { api, newUser, refusal, type TestUser } from "./helpers/http";
import { readReceipt, revoke, syncRange } from "./helpers/protocol";
import { connectRich } from "./helpers/rich-wire";
import { TestSocket, text } from "./helpers/socket";

interface MemberJson {
  userID: string;
  role: number;
  nickname: string;
}

const post = <T = unknown>(path: string, user: TestUser, body?: unknown) =>
  api<T>(path, body === undefined ? { method: "POST", token: user.token } : { body, token: user.token });

const notices = (messages: { messageType?: number | null; content?: Uint8Array | null }[]) =>
  messages.filter((m) => m.messageType === 8).map((m) => JSON.parse(text(m.content)) as { type: string });

describe("group management", () => {
  it("creates a group with the owner counted, lists it, and shows members by role", async () => {
    const [owner, b, c] = [await newUser("owner"), await newUser("b"), await newUser("c")];
    const group = await createGroup(owner, [b, c, owner], "Climbers");
    expect(group).toMatchObject({
      groupName: "Climbers",
      ownerUserID: owner.userId,
      memberCount: 3,
      status: 0,
    });

    expect((await api<GroupJson>(`/api/group/${group.groupID}`, { token: b.token })).body.data!.groupID).toBe(
      group.groupID,
    );
    const mine = await api<GroupJson[]>("/api/group/my/list", { token: c.token });
    expect(mine.body.data!.map((g) => g.groupID)).toContain(group.groupID);
    const members = await api<MemberJson[]>(`/api/group/${group.groupID}/members`, { token: b.token });
    expect(members.body.data![0]).toMatchObject({ userID: owner.userId, role: 2 });
    expect(members.body.data!.map((m) => m.userID).sort()).toEqual([owner.userId, b.userId, c.userId].sort());
    const outsider = await newUser("out");
    expect(refusal(await api(`/api/group/${group.groupID}/members`, { token: outsider.token }))).toBe(403);
  });

  it("lets the owner and admins update, and refuses members", async () => {
    const [owner, admin, member] = [await newUser("o"), await newUser("ad"), await newUser("m")];
    const group = await createGroup(owner, [admin, member]);
    expect(
      (await post(`/api/group/${group.groupID}/admin`, owner, { userID: admin.userId, admin: true })).body
        .code,
    ).toBe(0);
    const update = await post<GroupJson>("/api/group/update", admin, {
      groupID: group.groupID,
      notification: "Be kind",
      introduction: "",
    });
    expect(update.body.data).toMatchObject({ notification: "Be kind", introduction: "" });
    const refused = await post("/api/group/update", member, {
      groupID: group.groupID,
      groupName: "Mine now",
    });
    expect(refusal(refused)).toBe(403);
    expect(
      refusal(await post(`/api/group/${group.groupID}/admin`, admin, { userID: member.userId, admin: true })),
    ).toBe(403);
  });

  it("joins idempotently, refuses the owner's leaving, and checks invite and kick rights", async () => {
    const [owner, admin, m1, m2, joiner] = [
      await newUser("o"),
      await newUser("ad"),
      await newUser("m"),
      await newUser("m"),
      await newUser("j"),
    ];
    const group = await createGroup(owner, [admin, m1, m2]);
    const g = group.groupID;
    const joined = await post<GroupJson>(`/api/group/${g}/join`, joiner);
    expect(joined.body.data!.memberCount).toBe(5);
    expect((await post<GroupJson>(`/api/group/${g}/join`, joiner)).body.data!.memberCount).toBe(5);
    expect(refusal(await post(`/api/group/${g}/leave`, owner))).toBe(400);

    const outsider = await newUser("x");
    expect(refusal(await post(`/api/group/${g}/invite`, outsider, { userIDs: [m1.userId] }))).toBe(403);
    expect(
      refusal(await post(`/api/group/${g}/invite`, m1, { userIDs: ["01ARZ3NDEKTSV4RRFFQ69G5FAV"] })),
    ).toBe(404);
    expect(refusal(await post(`/api/group/${g}/invite`, m1, { userIDs: [] }))).toBe(400);

    await post(`/api/group/${g}/admin`, owner, { userID: admin.userId, admin: true });
    expect(refusal(await post(`/api/group/${g}/kick`, m1, { userIDs: [m2.userId] }))).toBe(403);
    expect(refusal(await post(`/api/group/${g}/kick`, admin, { userIDs: [owner.userId] }))).toBe(403);
    await post(`/api/group/${g}/admin`, owner, { userID: m1.userId, admin: true });
    expect(refusal(await post(`/api/group/${g}/kick`, admin, { userIDs: [m1.userId] }))).toBe(403);
    expect((await post(`/api/group/${g}/kick`, admin, { userIDs: [m2.userId] })).body.code).toBe(0);
    expect((await api<GroupJson>(`/api/group/${g}`, { token: owner.token })).body.data!.memberCount).toBe(4);

    expect((await post(`/api/group/${g}/leave`, joiner)).body.code).toBe(0);
    expect(
      (await api<GroupJson[]>("/api/group/my/list", { token: joiner.token })).body.data!.map(
        (x) => x.groupID,
      ),
    ).not.toContain(g);
  });

  it("transfers ownership and dismisses softly; only the owner may", async () => {
    const [owner, b] = [await newUser("o"), await newUser("b")];
    const group = await createGroup(owner, [b]);
    const g = group.groupID;
    expect(refusal(await post(`/api/group/${g}/dismiss`, b))).toBe(403);
    const transferred = await post<GroupJson>(`/api/group/${g}/transfer`, owner, { userID: b.userId });
    expect(transferred.body.data!.ownerUserID).toBe(b.userId);
    expect(refusal(await post(`/api/group/${g}/dismiss`, owner))).toBe(403);
    expect((await post(`/api/group/${g}/dismiss`, b)).body.code).toBe(0);
    expect((await api<GroupJson>(`/api/group/${g}`, { token: b.token })).body.data!.status).toBe(1);
    const socket = await TestSocket.connect(b);
    expect((await sendToGroup(socket, g, "anyone?")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    socket.close();
  });

  it("creates and fills a group past D1's 100 bound parameters in one call each", async () => {
    const owner = await newUser("big");
    const members = await Promise.all(Array.from({ length: 130 }, () => newUser("m")));
    const group = await createGroup(owner, members.slice(0, 110));
    expect(group.memberCount).toBe(111);
    const invited = await post(`/api/group/${group.groupID}/invite`, owner, {
      userIDs: members.slice(110).map((m) => m.userId),
    });
    expect(invited.body.code).toBe(0);
    const kicked = await post(`/api/group/${group.groupID}/kick`, owner, {
      userIDs: members.slice(0, 105).map((m) => m.userId),
    });
    expect(kicked.body.code).toBe(0);
    expect(
      (await api<GroupJson>(`/api/group/${group.groupID}`, { token: owner.token })).body.data!.memberCount,
    ).toBe(26);
    const listed = await api<MemberJson[]>(`/api/group/${group.groupID}/members?limit=500`, {
      token: owner.token,
    });
    expect(listed.body.data).toHaveLength(26);
  });

  it("refuses a group over its size limit", async () => {
    const [owner, a, b, c] = [await newUser("o"), await newUser("a"), await newUser("b"), await newUser("c")];
    const group = await createGroup(owner, [a]);
    const conversationId = `group_${group.groupID}`;
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName(conversationId), (instance) => {
      instance["settingsCache"] = { ...readSettings(env), groupMaxMembers: 3 };
    });
    expect((await post(`/api/group/${group.groupID}/join`, b)).body.code).toBe(0);
    const full = await post(`/api/group/${group.groupID}/join`, c);
    expect(refusal(full)).toBe(409);
    expect(full.body.message).toMatch(/at most 3/);
  });

  it("answers unknown groups with 404 and bad bodies with 400", async () => {
    const me = await newUser("me");
    const ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    expect(refusal(await api(`/api/group/${ghost}`, { token: me.token }))).toBe(404);
    expect(refusal(await post(`/api/group/${ghost}/join`, me))).toBe(404);
    expect(refusal(await post(`/api/group/${ghost}/invite`, me, { userIDs: [me.userId] }))).toBe(404);
    expect(refusal(await post("/api/group/create", me, { groupName: "" }))).toBe(400);
    expect(refusal(await post("/api/group/create", me, { groupName: "x", memberUserIDs: "nope" }))).toBe(400);
    expect(refusal(await post("/api/group/update", me, { groupName: "x" }))).toBe(400);
    expect(refusal(await api("/api/group/bad_id", { token: me.token }))).toBe(400);
    expect((await api("/api/group/my/list")).status).toBe(401);
  });
});

describe("group messaging", () => {
  it("delivers every message once, in seq order, to 3 members on 2 devices each", async () => {
    const users = [await newUser("a"), await newUser("b"), await newUser("c")];
    const group = await createGroup(users[0]!, users.slice(1));
    const devices = await Promise.all(
      users.map((u) => Promise.all(["iOS", "Android"].map((p) => TestSocket.connect(u, p)))),
    );
    // Each member sends 5 from its first device, all at once.
    const acks = await Promise.all(
      users.map((_, i) =>
        Promise.all(
          Array.from({ length: 5 }, (_, n) => sendToGroup(devices[i]![0]!, group.groupID, `${i}:${n}`)),
        ),
      ),
    );
    const seqs = acks.flat().map((a) => a.seq);
    expect([...seqs].sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 2),
    );

    for (const [i, row] of devices.entries()) {
      for (const [d, socket] of row.entries()) {
        // The sending device had 5 acks instead of pushes.
        const expected = d === 0 ? 10 : 15;
        const pushed = await socket.pushedMessages(expected);
        const got = pushed.map((m) => Number(m.seq));
        expect(got, `user ${i} device ${d}`).toEqual([...got].sort((x, y) => x - y));
        expect(new Set(got).size).toBe(expected);
        expect(pushed.every((m) => m.conversationType === 2 && m.groupId === group.groupID)).toBe(true);
      }
    }
    for (const row of devices) for (const s of row) s.close();
  });

  it("refuses a muted member, and everyone but admins while the group is muted", async () => {
    const [owner, m] = [await newUser("o"), await newUser("m")];
    const group = await createGroup(owner, [m]);
    const ownerSocket = await TestSocket.connect(owner);
    const memberSocket = await TestSocket.connect(m);
    await post(`/api/group/${group.groupID}/mute`, owner, { userID: m.userId, seconds: 3600 });
    const muted = await sendToGroup(memberSocket, group.groupID, "let me talk");
    expect(muted.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(muted.errorMsg).toMatch(/muted/);
    await post(`/api/group/${group.groupID}/mute`, owner, { userID: m.userId, seconds: 0 });
    expect((await sendToGroup(memberSocket, group.groupID, "thanks")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);

    await post(`/api/group/${group.groupID}/mute-all`, owner, { muted: true });
    expect((await sendToGroup(memberSocket, group.groupID, "hello?")).errorCode).toBe(
      Err.ERR_PERMISSION_DENIED,
    );
    expect((await sendToGroup(ownerSocket, group.groupID, "announcement")).errorCode ?? 0).toBe(
      Err.ERR_SUCCESS,
    );
    ownerSocket.close();
    memberSocket.close();
  });

  it("stops delivering to a kicked member at the kick's seq and refuses their sends", async () => {
    const [owner, stays, kicked] = [await newUser("o"), await newUser("s"), await newUser("k")];
    const group = await createGroup(owner, [stays, kicked]);
    const conversationId = `group_${group.groupID}`;
    const ownerSocket = await TestSocket.connect(owner);
    const kickedSocket = await TestSocket.connect(kicked);
    await sendToGroup(ownerSocket, group.groupID, "before");
    await post(`/api/group/${group.groupID}/kick`, owner, { userIDs: [kicked.userId] });
    const seen = await kickedSocket.pushedMessages(2);
    expect(notices(seen)).toMatchObject([{ type: "member_kicked" }]);
    const kickSeq = Number(seen[1]!.seq);
    const after = await sendToGroup(ownerSocket, group.groupID, "after");
    expect(after.seq).toBe(kickSeq + 1);

    const groupRow = async (user: TestUser) => {
      const list = await api<{ conversations: { conversationID: string; maxSeq: number }[] }>(
        "/api/conversations",
        {
          token: user.token,
        },
      );
      return list.body.data!.conversations.find((x) => x.conversationID === conversationId)?.maxSeq;
    };
    await expect.poll(() => groupRow(stays)).toBe(kickSeq + 1);
    expect(await groupRow(kicked)).toBe(kickSeq);
    const range = await syncRange(kickedSocket, conversationId, 1);
    expect(range.messages!.map((m) => Number(m.seq)).at(-1)).toBe(kickSeq);
    expect((await sendToGroup(kickedSocket, group.groupID, "let me back")).errorCode).toBe(
      Err.ERR_PERMISSION_DENIED,
    );
    ownerSocket.close();
    kickedSocket.close();
  });

  it("starts a new member's sync at the seq they joined at", async () => {
    const [owner, late] = [await newUser("o"), await newUser("late")];
    const group = await createGroup(owner, []);
    const conversationId = `group_${group.groupID}`;
    const ownerSocket = await TestSocket.connect(owner);
    for (let i = 0; i < 3; i++) await sendToGroup(ownerSocket, group.groupID, `early ${i}`);
    await post(`/api/group/${group.groupID}/join`, late);
    await sendToGroup(ownerSocket, group.groupID, "welcome");

    const lateSocket = await TestSocket.connect(late);
    const sync = await lateSocket.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      {},
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    const entry = sync.conversationMessages.find((c) => c.conversationId === conversationId)!;
    expect(entry.messages!.map((m) => Number(m.seq))).toEqual([5, 6]);
    expect(notices(entry.messages!)).toMatchObject([{ type: "member_joined" }]);
    const range = await syncRange(lateSocket, conversationId, 1);
    expect(range.messages!.map((m) => Number(m.seq))).toEqual([5, 6]);
    const listed = await api<{
      conversations: { conversationID: string; showName: string; groupID: string }[];
    }>("/api/conversations", { token: late.token });
    expect(listed.body.data!.conversations.find((c) => c.conversationID === conversationId)).toMatchObject({
      showName: "Team",
      groupID: group.groupID,
    });
    // The join notice is the joiner's own act, so only "welcome" is unread.
    await expect
      .poll(async () => {
        const list = await api<{ conversations: { conversationID: string; unreadCount: number }[] }>(
          "/api/conversations",
          {
            token: late.token,
          },
        );
        return list.body.data!.conversations.find((c) => c.conversationID === conversationId)?.unreadCount;
      })
      .toBe(1);
    ownerSocket.close();
    lateSocket.close();
  });

  it("gives the sender read_by and read counts, and lets an admin revoke anyone's message", async () => {
    const [owner, b, c] = [await newUser("o"), await newUser("b"), await newUser("c")];
    const group = await createGroup(owner, [b, c]);
    const conversationId = `group_${group.groupID}`;
    const [oSocket, bSocket, cSocket] = [
      await TestSocket.connect(owner),
      await TestSocket.connect(b),
      await TestSocket.connect(c),
    ];
    const ack = await sendToGroup(bSocket, group.groupID, "read me");
    await readReceipt(cSocket, conversationId);
    const receipt = pb.ReadReceiptPush.decode((await bSocket.nextCommand(Cmd.CMD_READ_RECEIPT_PUSH)).body);
    expect(receipt).toMatchObject({ conversationId, userId: c.userId, serverMsgIds: [ack.serverMsgId] });
    const view = (await syncRange(bSocket, conversationId, Number(ack.seq), Number(ack.seq))).messages![0]!;
    // read_count is an extension (field 24, past the SDK's MessageInfo): the SDK's socket has none.
    expect(view).toMatchObject({ readBy: [c.userId], readCount: 0, status: 3 });
    const bRich = await connectRich(b);
    const richView = (await syncRange(bRich, conversationId, Number(ack.seq), Number(ack.seq))).messages![0]!;
    expect(richView).toMatchObject({ readBy: [c.userId], readCount: 1, status: 3 });
    bRich.close();

    expect((await revoke(cSocket, conversationId, ack.serverMsgId!)).errorCode).toBe(
      Err.ERR_PERMISSION_DENIED,
    );
    expect((await revoke(oSocket, conversationId, ack.serverMsgId!)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    for (const s of [oSocket, bSocket, cSocket]) s.close();
  });

  it("relays typing to the other members of a group", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const group = await createGroup(a, [b]);
    const [aSocket, bSocket] = [await TestSocket.connect(a), await TestSocket.connect(b)];
    aSocket.send(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, {
      conversationId: `group_${group.groupID}`,
      status: 1,
    });
    const push = pb.TypingStatusPush.decode((await bSocket.nextCommand(Cmd.CMD_TYPING_STATUS_PUSH)).body);
    expect(push).toMatchObject({ conversationId: `group_${group.groupID}`, userId: a.userId, status: 1 });
    aSocket.close();
    bSocket.close();
  });

  it("records every membership change as a notice with its own seq", async () => {
    const [owner, b, c] = [await newUser("o"), await newUser("b"), await newUser("c")];
    const group = await createGroup(owner, [b]);
    const g = group.groupID;
    await post(`/api/group/${g}/invite`, owner, { userIDs: [c.userId] });
    await post(`/api/group/${g}/admin`, owner, { userID: b.userId, admin: true });
    await post(`/api/group/${g}/leave`, c);
    await post("/api/group/update", owner, { groupID: g, groupName: "Renamed" });
    const socket = await TestSocket.connect(owner);
    const history = await syncRange(socket, `group_${g}`, 1);
    expect(history.messages!.map((m) => Number(m.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(notices(history.messages!).map((n) => n.type)).toEqual([
      "group_created",
      "member_invited",
      "admin_added",
      "member_left",
      "group_updated",
    ]);
    socket.close();
  });
});
