// The commands that decide who may come into a group, for its owner and admins: lifting bans,
// approving or rejecting join requests, and setting the join mode (group-access.ts); and what
// only they may see of it.
import type { Ban, GroupAccess, JoinMode, JoinRequest } from "./group-access";
import { fail, full, joinPlan, type GroupContext, type GroupFailure, type GroupPlan } from "./group-plan";
import { Role, type MemberStore } from "./member-store";

export type AccessCommand =
  | { op: "unban"; actor: string; userIds: string[] }
  | { op: "approve"; actor: string; userIds: string[] }
  | { op: "reject"; actor: string; userIds: string[] }
  | { op: "joinMode"; actor: string; mode: JoinMode };

/** Checks and plans one of them; null when it changes nothing. */
export function planAccessCommand(
  cmd: AccessCommand,
  g: GroupContext,
  isAdmin: boolean,
): GroupPlan | GroupFailure | null {
  const { members, access } = g;
  switch (cmd.op) {
    case "unban": {
      if (!isAdmin) return fail(403, "only the owner or an admin can lift bans");
      const lifted = [...new Set(cmd.userIds)].filter((id) => access.isBanned(id));
      if (lifted.length === 0) return null;
      return {
        memberCountDelta: 0,
        notice: { type: "member_unbanned", operatorID: cmd.actor, userIDs: lifted },
        apply: () => access.unban(lifted),
      };
    }
    case "approve": {
      if (!isAdmin) return fail(403, "only the owner or an admin can approve join requests");
      const ids = [...new Set(cmd.userIds)];
      const isMember = (id: string) => members.get(id)?.leftSeq === null;
      const unknown = ids.find((id) => !isMember(id) && !access.hasRequest(id));
      if (unknown) return fail(404, `no pending join request from user ${unknown}`);
      const approved = ids.filter((id) => !isMember(id));
      if (approved.length === 0) return null; // approved before: nothing left to do
      if (members.activeCount() + approved.length > g.maxMembers) return full(g.maxMembers);
      return joinPlan(g, approved, cmd.actor, "member_joined");
    }
    case "reject": {
      if (!isAdmin) return fail(403, "only the owner or an admin can reject join requests");
      const rejected = [...new Set(cmd.userIds)].filter((id) => access.hasRequest(id));
      if (rejected.length === 0) return null;
      return { memberCountDelta: 0, apply: () => access.dropRequests(rejected) };
    }
    case "joinMode": {
      if (!isAdmin) return fail(403, "only the owner or an admin can set how people join");
      if (members.groupState().joinMode === cmd.mode) return null;
      return {
        write: { group: { joinMode: cmd.mode } },
        memberCountDelta: 0,
        notice: { type: "join_mode_changed", operatorID: cmd.actor, joinMode: cmd.mode },
        apply: () => members.setGroupState({ joinMode: cmd.mode }),
      };
    }
  }
}

/** A page of the group's ban list or pending join requests, for its owner and admins. */
export function listAccess(
  g: { members: MemberStore; access: GroupAccess },
  actor: string,
  list: "bans" | "requests",
  offset: number,
  limit: number,
): { ok: true; bans: Ban[]; requests: JoinRequest[] } | GroupFailure {
  const member = g.members.get(actor);
  if (!member || member.leftSeq !== null || member.role < Role.admin)
    return fail(
      403,
      `only the owner or an admin can see the ${list === "bans" ? "ban list" : "join requests"}`,
    );
  return list === "bans"
    ? { ok: true, bans: g.access.bans(offset, limit), requests: [] }
    : { ok: true, bans: [], requests: g.access.requests(offset, limit) };
}
