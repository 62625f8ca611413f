// What every group command is planned into, shared by group-commands.ts (membership and settings)
// and group-access-commands.ts (bans, join requests, join modes): the plan's shape, the refusal,
// what a plan may read, and the plan that brings users in, which both kinds of command make.
import type { Database } from "../../db/client";
import type { GroupWrite } from "../../db/groups";
import type { GroupAccess } from "./group-access";
import { Role, type MemberStore } from "./member-store";

/** A refusal, or (202) a join request that now waits for an owner or admin: not a join either way. */
export type GroupFailure = { ok: false; status: 202 | 400 | 403 | 404 | 409 | 503; message: string };

/**
 * What a command changes: the D1 write (none when D1 does not record it), the notice (none for
 * changes only owners and admins see), and the local changes once the notice has a seq.
 */
export interface GroupPlan {
  write?: Omit<GroupWrite, "memberCount" | "groupId" | "at">;
  memberCountDelta: number;
  notice?: Record<string, unknown> & { type: string };
  apply: (noticeSeq: number) => void;
  /** The answer, when it is not plain success (a join request waiting for approval). */
  answer?: GroupFailure;
}

/** What planning reads: the group as its object holds it, D1 for users, the limits and the clock. */
export interface GroupContext {
  members: MemberStore;
  access: GroupAccess;
  db: Database;
  maxMembers: number;
  now: number;
}

export const fail = (status: GroupFailure["status"], message: string): GroupFailure => ({
  ok: false,
  status,
  message,
});

export const full = (max: number) => fail(409, `a group holds at most ${max} members`);

/** Brings users in (back) as members, with any mute they had, and closes their join requests. */
export function joinPlan(
  g: GroupContext,
  userIds: string[],
  actor: string,
  type: "member_joined" | "member_invited",
): GroupPlan {
  return {
    write: {
      join: userIds.map((userId) => ({
        userId,
        role: Role.member,
        mutedUntil: g.members.get(userId)?.mutedUntil ?? 0,
      })),
    },
    memberCountDelta: userIds.length,
    notice: { type, operatorID: actor, userIDs: userIds },
    apply: (seq) => {
      userIds.forEach((id) => g.members.join(id, Role.member, seq));
      g.access.dropRequests(userIds);
    },
  };
}
