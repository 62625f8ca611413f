// Groups and their members in D1, the durable record the HTTP API reads, and their JSON shapes for
// the SDK (IMGroup, http-api.md §3.3; the Member extension, §3.4). Only a group's
// ConversationObject writes these, so membership changes are serialized per group.
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { GroupStatus, groupMembers, groups, users } from "../../schema/tables";
import type { GroupJson, MemberJson } from "../protocol/http-shapes";
import type { Database } from "./client";

export type { GroupJson, MemberJson };
import { chunked, IDS_PER_STATEMENT, MAX_BOUND_PARAMS } from "./limits";

export type GroupRow = typeof groups.$inferSelect;

export function toGroupJson(row: GroupRow): GroupJson {
  return {
    groupID: row.id,
    groupName: row.name,
    faceURL: row.faceUrl,
    ownerUserID: row.ownerId,
    memberCount: row.memberCount,
    introduction: row.introduction,
    notification: row.notification,
    extra: row.extra,
    createTime: row.createdAt,
    updateTime: row.updatedAt,
    status: row.status,
    muteAll: row.muteAll,
    joinMode: row.joinMode,
  };
}

export async function findGroups(db: Database, groupIds: readonly string[]): Promise<GroupRow[]> {
  const pages = await Promise.all(
    chunked(groupIds, IDS_PER_STATEMENT).map((page) =>
      db.select().from(groups).where(inArray(groups.id, page)).all(),
    ),
  );
  return pages.flat();
}

export async function findGroup(db: Database, groupId: string): Promise<GroupRow | undefined> {
  return db.select().from(groups).where(eq(groups.id, groupId)).get();
}

/** The user's groups that are not dismissed, most recently updated first. */
export async function groupsOf(db: Database, userId: string): Promise<GroupRow[]> {
  return db
    .select({ group: groups })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .where(and(eq(groupMembers.userId, userId), eq(groups.status, GroupStatus.active)))
    .orderBy(desc(groups.updatedAt))
    .all()
    .then((rows) => rows.map((r) => r.group));
}

export async function isGroupMember(db: Database, groupId: string, userId: string): Promise<boolean> {
  const row = await db
    .select({ userId: groupMembers.userId })
    .from(groupMembers)
    .where(and(eq(groupMembers.groupId, groupId), eq(groupMembers.userId, userId)))
    .get();
  return row !== undefined;
}

/** Members by role (owner, admins, members), then join time. */
export async function membersPage(
  db: Database,
  groupId: string,
  offset: number,
  limit: number,
): Promise<MemberJson[]> {
  const rows = await db
    .select({ member: groupMembers, nickname: users.nickname, avatar: users.avatar })
    .from(groupMembers)
    .innerJoin(users, eq(users.id, groupMembers.userId))
    .where(eq(groupMembers.groupId, groupId))
    .orderBy(desc(groupMembers.role), asc(groupMembers.joinedAt), asc(groupMembers.userId))
    .limit(limit)
    .offset(offset)
    .all();
  return rows.map(({ member, nickname, avatar }) => ({
    groupID: member.groupId,
    userID: member.userId,
    nickname,
    avatar,
    groupNickname: member.groupNickname,
    role: member.role,
    joinTime: member.joinedAt,
    mutedUntil: member.mutedUntil,
  }));
}

// ---- writes, issued by the group's ConversationObject only ----

export interface GroupWrite {
  groupId: string;
  /** Fields of the group row to set (updatedAt is always set). */
  group?: Partial<Omit<GroupRow, "id" | "createdAt" | "updatedAt">> & { id?: string; createdAt?: number };
  create?: boolean;
  /** Members to add (or bring back) with their role and their mute, which outlives a leave. */
  join?: { userId: string; role: number; mutedUntil?: number }[];
  leave?: string[];
  roles?: { userId: string; role: number }[];
  mutes?: { userId: string; until: number }[];
  memberCount: number;
  /** When the change was made: every timestamp it writes, so a replay writes the same ones. */
  at: number;
}

/**
 * Applies one membership or settings change in a single D1 batch (one implicit transaction). It
 * sets absolute values only, so applying it again changes nothing (group-outbox.ts replays it).
 */
export async function writeGroup(db: Database, change: GroupWrite): Promise<void> {
  const now = change.at;
  const statements = [];
  if (change.create) {
    statements.push(
      db
        .insert(groups)
        .values({
          id: change.groupId,
          name: change.group?.name ?? "",
          faceUrl: change.group?.faceUrl ?? "",
          ownerId: change.group?.ownerId ?? "",
          introduction: change.group?.introduction ?? "",
          memberCount: change.memberCount,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing(),
    );
  } else {
    statements.push(
      db
        .update(groups)
        .set({ ...change.group, memberCount: change.memberCount, updatedAt: now })
        .where(eq(groups.id, change.groupId)),
    );
  }
  // Rows go in multi-row statements under D1's bound-parameter limit (6 parameters a row).
  for (const page of chunked(change.join ?? [], Math.floor(MAX_BOUND_PARAMS / 6))) {
    statements.push(
      db
        .insert(groupMembers)
        .values(
          page.map(({ userId, role, mutedUntil }) => ({
            groupId: change.groupId,
            userId,
            role,
            groupNickname: "",
            mutedUntil: mutedUntil ?? 0,
            joinedAt: now,
          })),
        )
        .onConflictDoUpdate({
          target: [groupMembers.groupId, groupMembers.userId],
          set: { role: sql`excluded.role`, mutedUntil: sql`excluded.muted_until`, joinedAt: now },
        }),
    );
  }
  for (const page of chunked(change.leave ?? [], IDS_PER_STATEMENT)) {
    statements.push(
      db
        .delete(groupMembers)
        .where(and(eq(groupMembers.groupId, change.groupId), inArray(groupMembers.userId, page))),
    );
  }
  for (const { userId, role } of change.roles ?? []) {
    statements.push(
      db
        .update(groupMembers)
        .set({ role })
        .where(and(eq(groupMembers.groupId, change.groupId), eq(groupMembers.userId, userId))),
    );
  }
  for (const { userId, until } of change.mutes ?? []) {
    statements.push(
      db
        .update(groupMembers)
        .set({ mutedUntil: until })
        .where(and(eq(groupMembers.groupId, change.groupId), eq(groupMembers.userId, userId))),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
