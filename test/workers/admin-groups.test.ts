// The admin API on groups, as members see them: a dismissal, a new owner or a removed member
// arrives as the group's notice from "admin", and the group then behaves as after an owner's
// change (no sends after a dismissal or a removal; the new owner's rights).
import { describe, expect, it } from "vitest";
import { Err } from "../../src/protocol/codec";
import { ADMIN_ACTOR } from "../../src/objects/admin-actor";
import { adminApi, adminOk, latestAudit } from "./helpers/admin";
import { createGroup, sendToGroup, type GroupJson } from "./helpers/groups";
import { api, newUser, refusal } from "./helpers/http";
import { TestSocket, text } from "./helpers/socket";

type Notice = { type: string; operatorID: string; userIDs?: string[] };

/** The group notice of `type` this socket is pushed next (notices are message_type 8). */
async function noticeOf(socket: TestSocket, type: string): Promise<Notice> {
  const isIt = (m: { messageType?: number | null; content?: Uint8Array | null }) =>
    m.messageType === 8 && (JSON.parse(text(m.content)) as Notice).type === type;
  const found = (await socket.pushedUntil(isIt)).find(isIt)!;
  return JSON.parse(text(found.content)) as Notice;
}

describe("groups through the admin API", () => {
  it("looks a group up with its members, and answers 404 for an unknown one", async () => {
    const [owner, member] = [await newUser("owner"), await newUser("member")];
    const group = await createGroup(owner, [member], "Looked up");
    const found = await adminOk<{ group: GroupJson; members: { userID: string; role: number }[] }>(
      `/groups/${group.groupID}`,
    );
    expect(found.group).toMatchObject({ groupID: group.groupID, groupName: "Looked up", memberCount: 2 });
    expect(found.members.map((m) => [m.userID, m.role])).toEqual([
      [owner.userId, 2],
      [member.userId, 0],
    ]);
    expect(refusal(await adminApi("/groups/NOSUCHGROUP"))).toBe(404);
    expect(refusal(await adminApi("/groups/not_valid"))).toBe(400);
  });

  it("dismisses a group: members hear it from the admin and can no longer send", async () => {
    const [owner, member] = [await newUser("owner"), await newUser("member")];
    const group = await createGroup(owner, [member]);
    const socket = await TestSocket.connect(member);
    expect(await adminOk(`/groups/${group.groupID}/dismiss`, { body: {} })).toEqual({
      changed: true,
      synced: true,
    });
    expect(await noticeOf(socket, "group_dismissed")).toMatchObject({ operatorID: ADMIN_ACTOR });
    expect(
      (await api<GroupJson>(`/api/group/${group.groupID}`, { token: owner.token })).body.data!.status,
    ).toBe(1);
    expect((await sendToGroup(socket, group.groupID, "hello?")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    expect(refusal(await adminApi(`/groups/${group.groupID}/dismiss`, { body: {} }))).toBe(400);
    expect((await latestAudit(1))[0]).toMatchObject({
      action: "group.dismiss",
      target: group.groupID,
      outcomeCode: 400,
    });
    socket.close();
  });

  it("changes the owner: the old owner becomes an admin and the new one has the owner's rights", async () => {
    const [owner, heir, other] = [await newUser("owner"), await newUser("heir"), await newUser("other")];
    const group = await createGroup(owner, [heir, other]);
    const socket = await TestSocket.connect(other);
    await adminOk(`/groups/${group.groupID}/owner`, { body: { userID: heir.userId } });
    expect(await noticeOf(socket, "owner_transferred")).toMatchObject({
      operatorID: ADMIN_ACTOR,
      userIDs: [heir.userId],
    });
    const found = await adminOk<{ group: GroupJson; members: { userID: string; role: number }[] }>(
      `/groups/${group.groupID}`,
    );
    expect(found.group.ownerUserID).toBe(heir.userId);
    expect(Object.fromEntries(found.members.map((m) => [m.userID, m.role]))).toEqual({
      [heir.userId]: 2,
      [owner.userId]: 1,
      [other.userId]: 0,
    });
    // The new owner may dismiss; the old one no longer may.
    const dismiss = (user: typeof owner) =>
      api(`/api/group/${group.groupID}/dismiss`, { method: "POST", token: user.token });
    expect(refusal(await dismiss(owner))).toBe(403);
    expect((await dismiss(heir)).body.code).toBe(0);
    expect(refusal(await adminApi(`/groups/${group.groupID}/owner`, { body: { userID: "x_y" } }))).toBe(400);
    socket.close();
  });

  it("refuses a new owner who is not a member", async () => {
    const [owner, stranger] = [await newUser("owner"), await newUser("stranger")];
    const group = await createGroup(owner, []);
    const refused = await adminApi(`/groups/${group.groupID}/owner`, { body: { userID: stranger.userId } });
    expect(refusal(refused)).toBe(404);
  });

  it("removes a member: they hear it, stop receiving and cannot send; the owner cannot be removed", async () => {
    const [owner, member] = [await newUser("owner"), await newUser("member")];
    const group = await createGroup(owner, [member]);
    const socket = await TestSocket.connect(member);
    await adminOk(`/groups/${group.groupID}/remove-member`, { body: { userID: member.userId } });
    expect(await noticeOf(socket, "member_kicked")).toMatchObject({
      operatorID: ADMIN_ACTOR,
      userIDs: [member.userId],
    });
    expect((await sendToGroup(socket, group.groupID, "still here?")).errorCode).toBe(
      Err.ERR_PERMISSION_DENIED,
    );
    const members = await adminOk<{ members: { userID: string }[] }>(`/groups/${group.groupID}`);
    expect(members.members.map((m) => m.userID)).toEqual([owner.userId]);
    const refused = await adminApi(`/groups/${group.groupID}/remove-member`, {
      body: { userID: owner.userId },
    });
    expect(refusal(refused)).toBe(403);
    expect(refused.body.message).toMatch(/transfer ownership first/);
    socket.close();
  });
});
