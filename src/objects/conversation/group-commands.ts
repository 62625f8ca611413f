// Group membership and settings changes, decided by the group's ConversationObject (the single
// writer). Each command is checked against the members it holds, then applied locally together
// with a notification message (message_type 8) that takes its own seq, so every member's history
// tells what happened, and its D1 write (the record the HTTP API reads) is queued in the same
// transaction (group-outbox.ts).
import type { Database } from "../../db/client";
import { existingUserIds } from "../../db/users";
import { planAccessCommand, type AccessCommand } from "./group-access-commands";
import { JoinMode, MAX_BANS, MAX_JOIN_REQUESTS } from "./group-access";
import { fail, full, joinPlan, type GroupContext, type GroupFailure, type GroupPlan } from "./group-plan";
import { GroupStatus } from "../../../schema/tables";
import { Role } from "./member-store";
import { ADMIN_ACTOR } from "../admin-actor";

/**
 * What the admin API may do to a group, as ADMIN_ACTOR with an owner's rights though it is no
 * member: dismiss it, hand it to a new owner, remove (kick) members. Any other command by it is
 * refused: the admin cannot join, leave or speak in a group.
 */
const ADMIN_OPS: ReadonlySet<GroupCommand["op"]> = new Set(["dismiss", "transfer", "kick"]);

export type GroupCommand =
  | { op: "create"; actor: string; name: string; faceUrl: string; introduction: string; memberIds: string[] }
  | {
      op: "update";
      actor: string;
      patch: { name?: string; faceUrl?: string; introduction?: string; notification?: string };
    }
  | { op: "join"; actor: string }
  | { op: "leave"; actor: string }
  | { op: "invite"; actor: string; userIds: string[] }
  | { op: "kick"; actor: string; userIds: string[] }
  | { op: "dismiss"; actor: string }
  | { op: "transfer"; actor: string; userId: string }
  | { op: "setAdmin"; actor: string; userId: string; admin: boolean }
  | { op: "mute"; actor: string; userId: string; seconds: number }
  | { op: "muteAll"; actor: string; muted: boolean }
  | AccessCommand;

/** `synced`: D1 has every change so far (otherwise the alarm is still writing it there). */
export type GroupResult = { ok: true; changed: boolean; synced: boolean } | GroupFailure;

/** Checks a command and plans it; null when it changes nothing (e.g. joining twice). */
export async function planGroupCommand(
  cmd: GroupCommand,
  g: GroupContext,
): Promise<GroupPlan | GroupFailure | null> {
  const { members, access } = g;
  if (cmd.actor === ADMIN_ACTOR && !ADMIN_OPS.has(cmd.op))
    return fail(400, `the admin API cannot ${cmd.op} a group`);
  if (cmd.op === "create") {
    if (!members.isEmpty()) return fail(409, "group already exists");
    const others = [...new Set(cmd.memberIds)].filter((id) => id !== cmd.actor);
    if (others.length + 1 > g.maxMembers) return full(g.maxMembers);
    const missing = await missingUsers(g.db, others);
    if (missing) return fail(404, `user ${missing} not found`);
    return {
      write: {
        create: true,
        group: { name: cmd.name, faceUrl: cmd.faceUrl, introduction: cmd.introduction, ownerId: cmd.actor },
        join: [
          { userId: cmd.actor, role: Role.owner },
          ...others.map((userId) => ({ userId, role: Role.member })),
        ],
      },
      memberCountDelta: others.length + 1,
      notice: { type: "group_created", operatorID: cmd.actor, userIDs: others, groupName: cmd.name },
      apply: (seq) => {
        members.join(cmd.actor, Role.owner, seq);
        for (const id of others) members.join(id, Role.member, seq);
      },
    };
  }

  if (members.isEmpty()) return fail(404, "group not found");
  if (members.groupState().status === GroupStatus.dismissed) return fail(400, "group has been dismissed");
  const byAdmin = cmd.actor === ADMIN_ACTOR;
  const actor = byAdmin ? null : members.get(cmd.actor);
  const active = actor !== null && actor.leftSeq === null;
  const role = byAdmin ? Role.owner : active ? actor.role : -1;
  const isAdmin = role >= Role.admin;

  switch (cmd.op) {
    case "join": {
      if (active) return null; // already a member: joining again is a success that changes nothing
      if (access.isBanned(cmd.actor))
        return fail(403, "you were removed from this group: only an owner or admin can let you back in");
      const mode = members.groupState().joinMode;
      if (mode === JoinMode.inviteOnly)
        return fail(403, "this group is invite-only: ask a member to invite you");
      if (mode === JoinMode.approval) {
        const answer = fail(202, "your request to join was sent: an owner or admin must approve it");
        if (access.hasRequest(cmd.actor)) return answer;
        if (access.requestCount() >= MAX_JOIN_REQUESTS)
          return fail(409, "this group has too many pending join requests: try again later");
        return { memberCountDelta: 0, apply: () => access.request(cmd.actor, g.now), answer };
      }
      if (members.activeCount() >= g.maxMembers) return full(g.maxMembers);
      return joinPlan(g, [cmd.actor], cmd.actor, "member_joined");
    }
    case "leave": {
      if (!active) return null;
      if (role === Role.owner)
        return fail(400, "the owner cannot leave: transfer ownership or dismiss the group");
      return {
        write: { leave: [cmd.actor] },
        memberCountDelta: -1,
        notice: { type: "member_left", operatorID: cmd.actor, userIDs: [cmd.actor] },
        apply: (seq) => members.leave(cmd.actor, seq),
      };
    }
    case "invite": {
      if (!active) return fail(403, "only members can invite");
      const fresh = [...new Set(cmd.userIds)].filter((id) => {
        const m = members.get(id);
        return !m || m.leftSeq !== null;
      });
      if (fresh.length === 0) return null;
      // An owner's or admin's invite lifts a ban; a member's cannot.
      const banned = fresh.filter((id) => access.isBanned(id));
      if (banned.length > 0 && !isAdmin)
        return fail(
          403,
          `user ${banned[0]} was removed from this group: only an owner or admin can invite them`,
        );
      if (members.activeCount() + fresh.length > g.maxMembers) return full(g.maxMembers);
      const missing = await missingUsers(g.db, fresh);
      if (missing) return fail(404, `user ${missing} not found`);
      const plan = joinPlan(g, fresh, cmd.actor, "member_invited");
      return {
        ...plan,
        apply: (seq) => {
          access.unban(banned);
          plan.apply(seq);
        },
      };
    }
    case "kick": {
      if (!isAdmin) return fail(403, "only the owner or an admin can kick members");
      const ids = [...new Set(cmd.userIds)].filter((id) => id !== cmd.actor && !access.isBanned(id));
      // Members leave and are banned; former members and join requesters are banned.
      const leaving = ids.filter((id) => {
        const m = members.get(id);
        return m !== null && m.leftSeq === null;
      });
      const targets = ids.filter((id) => members.get(id) !== null || access.hasRequest(id));
      for (const id of leaving) {
        const targetRole = members.get(id)?.role ?? Role.member;
        if (targetRole === Role.owner)
          return fail(403, "the owner cannot be kicked: transfer ownership first");
        if (targetRole === Role.admin && role !== Role.owner)
          return fail(403, "only the owner can kick an admin");
      }
      if (targets.length === 0) return null;
      if (access.banCount() + targets.length > MAX_BANS)
        return fail(409, `the ban list holds at most ${MAX_BANS} users: lift some bans first`);
      return {
        ...(leaving.length > 0 && { write: { leave: leaving } }),
        memberCountDelta: -leaving.length,
        notice: { type: "member_kicked", operatorID: cmd.actor, userIDs: targets },
        apply: (seq) => {
          leaving.forEach((id) => members.leave(id, seq));
          access.ban(targets, cmd.actor, g.now);
          access.dropRequests(targets);
        },
      };
    }
    case "update": {
      if (!isAdmin) return fail(403, "only the owner or an admin can update the group");
      return {
        write: { group: cmd.patch },
        memberCountDelta: 0,
        notice: { type: "group_updated", operatorID: cmd.actor, ...cmd.patch },
        apply: () => {},
      };
    }
    case "dismiss": {
      if (role !== Role.owner) return fail(403, "only the owner can dismiss the group");
      return {
        write: { group: { status: GroupStatus.dismissed } },
        memberCountDelta: 0,
        notice: { type: "group_dismissed", operatorID: cmd.actor },
        apply: () => members.setGroupState({ status: GroupStatus.dismissed }),
      };
    }
    case "transfer": {
      if (role !== Role.owner) return fail(403, "only the owner can transfer ownership");
      const target = members.get(cmd.userId);
      if (!target || target.leftSeq !== null || cmd.userId === cmd.actor)
        return fail(404, "the new owner must be another member");
      // The owner hands over to someone else; the admin API, from whoever owns it now.
      const previous = byAdmin ? members.active().find((m) => m.role === Role.owner)?.userId : cmd.actor;
      if (previous === cmd.userId) return null;
      return {
        write: {
          group: { ownerId: cmd.userId },
          roles: [
            { userId: cmd.userId, role: Role.owner },
            ...(previous === undefined ? [] : [{ userId: previous, role: Role.admin }]),
          ],
        },
        memberCountDelta: 0,
        notice: { type: "owner_transferred", operatorID: cmd.actor, userIDs: [cmd.userId] },
        apply: () => {
          members.setRole(cmd.userId, Role.owner);
          if (previous !== undefined) members.setRole(previous, Role.admin);
        },
      };
    }
    case "setAdmin": {
      if (role !== Role.owner) return fail(403, "only the owner can appoint admins");
      const target = members.get(cmd.userId);
      if (!target || target.leftSeq !== null) return fail(404, "not a member of this group");
      if (target.role === Role.owner) return fail(400, "the owner's role cannot change");
      const newRole = cmd.admin ? Role.admin : Role.member;
      if (target.role === newRole) return null;
      return {
        write: { roles: [{ userId: cmd.userId, role: newRole }] },
        memberCountDelta: 0,
        notice: {
          type: cmd.admin ? "admin_added" : "admin_removed",
          operatorID: cmd.actor,
          userIDs: [cmd.userId],
        },
        apply: () => members.setRole(cmd.userId, newRole),
      };
    }
    case "mute": {
      if (!isAdmin) return fail(403, "only the owner or an admin can mute members");
      const target = members.get(cmd.userId);
      if (!target || target.leftSeq !== null) return fail(404, "not a member of this group");
      if (target.role === Role.owner) return fail(403, "the owner cannot be muted");
      if (target.role === Role.admin && role !== Role.owner)
        return fail(403, "only the owner can mute an admin");
      const until = cmd.seconds > 0 ? g.now + cmd.seconds * 1000 : 0;
      return {
        write: { mutes: [{ userId: cmd.userId, until }] },
        memberCountDelta: 0,
        notice: {
          type: until ? "member_muted" : "member_unmuted",
          operatorID: cmd.actor,
          userIDs: [cmd.userId],
          mutedUntil: until,
        },
        apply: () => members.setMutedUntil(cmd.userId, until),
      };
    }
    case "unban":
    case "approve":
    case "reject":
    case "joinMode":
      return planAccessCommand(cmd, g, isAdmin);
    case "muteAll": {
      if (!isAdmin) return fail(403, "only the owner or an admin can mute the group");
      if (members.groupState().muteAll === cmd.muted) return null;
      return {
        write: { group: { muteAll: cmd.muted } },
        memberCountDelta: 0,
        notice: { type: cmd.muted ? "group_muted" : "group_unmuted", operatorID: cmd.actor },
        apply: () => members.setGroupState({ muteAll: cmd.muted }),
      };
    }
  }
}

async function missingUsers(db: Database, ids: string[]): Promise<string | null> {
  if (ids.length === 0) return null;
  const found = await existingUserIds(db, ids);
  return ids.find((id) => !found.has(id)) ?? null;
}
