// Who may come into a group (review issue 12, item 8): a kick bans until an owner or admin lifts it
// (or invites the user back), a mute outlives leaving and rejoining, and a group's join mode is
// open, invite-only or approval (with join requests that an owner or admin approves or rejects).
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_BANS, MAX_JOIN_REQUESTS } from "../../src/objects/conversation/group-access";
import { Err } from "../../src/protocol/codec";
import { createGroup, sendToGroup, type GroupJson } from "./helpers/groups";
import { api, newUser, refusal, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

const post = <T = unknown>(path: string, user: TestUser, body?: unknown) =>
  api<T>(path, body === undefined ? { method: "POST", token: user.token } : { body, token: user.token });
const get = <T = unknown>(path: string, user: TestUser) => api<T>(path, { token: user.token });

interface Entry {
  userID: string;
  operatorUserID?: string;
  createTime: number;
  user: { userID: string } | null;
}

const memberIds = async (g: string, user: TestUser) =>
  (await get<{ userID: string; mutedUntil: number }[]>(`/api/group/${g}/members?limit=500`, user)).body.data!;

describe("kicks are bans", () => {
  it("keeps a kicked user out until an owner or admin lifts the ban or invites them", async () => {
    const [owner, admin, member, kicked] = await Promise.all(["o", "ad", "m", "k"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [admin!, member!, kicked!]);
    const g = group.groupID;
    await post(`/api/group/${g}/admin`, owner!, { userID: admin!.userId, admin: true });

    expect((await post(`/api/group/${g}/kick`, owner!, { userIDs: [kicked!.userId] })).body.code).toBe(0);
    const rejoin = await post(`/api/group/${g}/join`, kicked!);
    expect(refusal(rejoin)).toBe(403);
    expect(rejoin.body.message).toMatch(/removed from this group/);
    const byMember = await post(`/api/group/${g}/invite`, member!, { userIDs: [kicked!.userId] });
    expect(refusal(byMember)).toBe(403);
    expect(byMember.body.message).toMatch(/only an owner or admin can invite them/);

    const bans = await get<Entry[]>(`/api/group/${g}/bans`, admin!);
    expect(bans.body.data).toMatchObject([
      { userID: kicked!.userId, operatorUserID: owner!.userId, user: { userID: kicked!.userId } },
    ]);
    expect(refusal(await get(`/api/group/${g}/bans`, member!))).toBe(403);
    expect(refusal(await post(`/api/group/${g}/unban`, member!, { userIDs: [kicked!.userId] }))).toBe(403);
    expect(refusal(await post(`/api/group/${g}/unban`, admin!, { userIDs: [] }))).toBe(400);

    // Lifted: the user may join again.
    expect((await post(`/api/group/${g}/unban`, admin!, { userIDs: [kicked!.userId] })).body.code).toBe(0);
    expect((await get<Entry[]>(`/api/group/${g}/bans`, owner!)).body.data).toEqual([]);
    expect((await post<GroupJson>(`/api/group/${g}/join`, kicked!)).body.data!.memberCount).toBe(4);

    // Kicked again, then invited back by an admin: the invite lifts the ban.
    await post(`/api/group/${g}/kick`, admin!, { userIDs: [kicked!.userId] });
    expect(refusal(await post(`/api/group/${g}/join`, kicked!))).toBe(403);
    expect((await post(`/api/group/${g}/invite`, admin!, { userIDs: [kicked!.userId] })).body.code).toBe(0);
    expect((await get<Entry[]>(`/api/group/${g}/bans`, owner!)).body.data).toEqual([]);
    expect((await memberIds(g, owner!)).map((m) => m.userID)).toContain(kicked!.userId);
  });

  it("bans a former member who left before the kick", async () => {
    const [owner, leaver] = await Promise.all(["o", "l"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [leaver!]);
    const g = group.groupID;
    await post(`/api/group/${g}/leave`, leaver!);
    expect((await post(`/api/group/${g}/kick`, owner!, { userIDs: [leaver!.userId] })).body.code).toBe(0);
    expect(refusal(await post(`/api/group/${g}/join`, leaver!))).toBe(403);
  });

  it("refuses a kick that would overflow the ban list", async () => {
    const [owner, m] = await Promise.all(["o", "m"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [m!]);
    const g = group.groupID;
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName(`group_${g}`), (_instance, state) => {
      for (let i = 0; i < MAX_BANS; i++) {
        state.storage.sql.exec(
          "INSERT INTO group_bans (user_id, banned_by, banned_at) VALUES (?, ?, ?)",
          `seed${i}`,
          owner!.userId,
          i,
        );
      }
    });
    const kick = await post(`/api/group/${g}/kick`, owner!, { userIDs: [m!.userId] });
    expect(refusal(kick)).toBe(409);
    expect(kick.body.message).toMatch(/ban list/);
    expect((await memberIds(g, owner!)).map((x) => x.userID)).toContain(m!.userId); // nothing changed
  });
});

describe("mutes", () => {
  it("outlive leaving and rejoining", async () => {
    const [owner, m] = await Promise.all(["o", "m"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [m!]);
    const g = group.groupID;
    await post(`/api/group/${g}/mute`, owner!, { userID: m!.userId, seconds: 3600 });
    await post(`/api/group/${g}/leave`, m!);
    expect((await post(`/api/group/${g}/join`, m!)).body.code).toBe(0);
    const socket = await TestSocket.connect(m!);
    const sent = await sendToGroup(socket, g, "unmuted?");
    expect(sent.errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(sent.errorMsg).toMatch(/muted/);
    const row = (await memberIds(g, owner!)).find((x) => x.userID === m!.userId);
    expect(row!.mutedUntil).toBeGreaterThan(Date.now() + 3_000_000);
    socket.close();
  });
});

describe("join modes", () => {
  it("is open by default, and invite-only refuses joins but not invites", async () => {
    const [owner, member, outsider] = await Promise.all(["o", "m", "x"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [member!]);
    const g = group.groupID;
    expect(group).toMatchObject({ joinMode: "open" });
    expect(refusal(await post(`/api/group/${g}/join-mode`, member!, { joinMode: "invite-only" }))).toBe(403);
    expect(refusal(await post(`/api/group/${g}/join-mode`, owner!, { joinMode: "closed" }))).toBe(400);
    const set = await post<GroupJson & { joinMode: string }>(`/api/group/${g}/join-mode`, owner!, {
      joinMode: "invite-only",
    });
    expect(set.body.data).toMatchObject({ joinMode: "invite-only", memberCount: 2 });

    const join = await post(`/api/group/${g}/join`, outsider!);
    expect(refusal(join)).toBe(403);
    expect(join.body.message).toMatch(/invite-only/);
    expect((await post(`/api/group/${g}/invite`, member!, { userIDs: [outsider!.userId] })).body.code).toBe(
      0,
    );
    expect((await post<GroupJson>(`/api/group/${g}/join`, outsider!)).body.data!.memberCount).toBe(3);
  });

  it("turns a join into a request that an owner or admin approves or rejects", async () => {
    const [owner, member, alice, bob, carol] = await Promise.all(
      ["o", "m", "alice", "bob", "carol"].map((p) => newUser(p)),
    );
    const group = await createGroup(owner!, [member!]);
    const g = group.groupID;
    await post(`/api/group/${g}/join-mode`, owner!, { joinMode: "approval" });

    for (const u of [alice!, bob!, carol!, alice!]) {
      const asked = await post(`/api/group/${g}/join`, u);
      expect(refusal(asked)).toBe(202);
      expect(asked.body.message).toMatch(/request to join was sent/);
    }
    const pending = await get<Entry[]>(`/api/group/${g}/requests`, owner!);
    expect(pending.body.data!.map((r) => r.userID)).toEqual([alice!.userId, bob!.userId, carol!.userId]);
    expect(pending.body.data![0]!.user).toMatchObject({ userID: alice!.userId });
    expect(refusal(await get(`/api/group/${g}/requests`, member!))).toBe(403);
    expect(
      refusal(await post(`/api/group/${g}/requests/approve`, member!, { userIDs: [alice!.userId] })),
    ).toBe(403);
    expect((await memberIds(g, owner!)).map((m) => m.userID)).not.toContain(alice!.userId);

    const approve = () => post(`/api/group/${g}/requests/approve`, owner!, { userIDs: [alice!.userId] });
    expect((await approve()).body.code).toBe(0);
    expect((await approve()).body.code).toBe(0); // a repeat changes nothing
    expect((await memberIds(g, owner!)).map((m) => m.userID)).toContain(alice!.userId);
    const outsider = await newUser("never");
    expect(
      refusal(await post(`/api/group/${g}/requests/approve`, owner!, { userIDs: [outsider.userId] })),
    ).toBe(404);

    expect(
      (await post(`/api/group/${g}/requests/reject`, owner!, { userIDs: [bob!.userId] })).body.code,
    ).toBe(0);
    // A requester who is kicked is banned and their request dropped.
    expect((await post(`/api/group/${g}/kick`, owner!, { userIDs: [carol!.userId] })).body.code).toBe(0);
    expect((await get<Entry[]>(`/api/group/${g}/requests`, owner!)).body.data).toEqual([]);
    expect((await get<Entry[]>(`/api/group/${g}/bans`, owner!)).body.data!.map((b) => b.userID)).toEqual([
      carol!.userId,
    ]);
    expect(refusal(await post(`/api/group/${g}/join`, carol!))).toBe(403);
    expect((await memberIds(g, owner!)).map((m) => m.userID).sort()).toEqual(
      [owner!, member!, alice!].map((u) => u.userId).sort(),
    );

    // Back to open: anyone not banned joins at once.
    await post(`/api/group/${g}/join-mode`, owner!, { joinMode: "open" });
    expect((await post<GroupJson>(`/api/group/${g}/join`, bob!)).body.data!.memberCount).toBe(4);
  });

  it("refuses a join request past the bound of pending requests", async () => {
    const [owner, late] = await Promise.all(["o", "late"].map((p) => newUser(p)));
    const group = await createGroup(owner!, []);
    const g = group.groupID;
    await post(`/api/group/${g}/join-mode`, owner!, { joinMode: "approval" });
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName(`group_${g}`), (_instance, state) => {
      for (let i = 0; i < MAX_JOIN_REQUESTS; i++) {
        state.storage.sql.exec(
          "INSERT INTO join_requests (user_id, requested_at) VALUES (?, ?)",
          `seed${i}`,
          i,
        );
      }
    });
    const asked = await post(`/api/group/${g}/join`, late!);
    expect(refusal(asked)).toBe(409);
    expect(asked.body.message).toMatch(/too many pending join requests/);
  });
});
