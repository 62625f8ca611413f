// /api/group: create, read, and change groups (http-api.md §2.8, plus transfer, admins, mutes,
// join modes, bans and join requests as extensions). Every change goes to the group's ConversationObject, the single writer of its
// membership, which checks the caller's role, records it in D1 and posts a notice into the group
// conversation; reads come from D1.
import { Hono, type Context } from "hono";
import { ulid } from "ulid";
import { z } from "zod";
import { database } from "../../db/client";
import {
  findGroup,
  groupsOf,
  isGroupMember,
  membersPage,
  toGroupJson,
  type GroupJson,
} from "../../db/groups";
import { ApiError, notFound, ok } from "../../http/envelope";
import { userIdField, userIdList } from "../../http/schemas";
import { jsonBody, validated } from "../../http/validate";
import { findUsersByIds, toUserJson, type UserJson } from "../../db/users";
import { JOIN_MODES } from "../../objects/conversation/group-access";
import type { GroupCommand } from "../../objects/conversation/group-commands";
import { groupConversationId, isValidId } from "../../protocol/conversation-id";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/** Most users one invite, kick or create call may name. */
export const MAX_USERS_PER_CALL = 500;
/** Largest page of the member list. */
export const MAX_MEMBER_PAGE = 500;

const groupIdField = z.string().refine(isValidId, "must be a group id");
const name = z.string().trim().min(1, "must not be empty").max(64);
const url = z.string().max(1024);
const text = (max: number) => z.string().max(max);

const CreateBody = z.object({
  groupName: name,
  faceURL: url.default(""),
  introduction: text(1024).default(""),
  memberUserIDs: z.array(userIdField).max(MAX_USERS_PER_CALL).default([]),
});
// A key is present only when the app passed it; "" means "set to empty" (http-api.md §2.8).
const UpdateBody = z.object({
  groupID: groupIdField,
  groupName: name.optional(),
  faceURL: url.optional(),
  introduction: text(1024).optional(),
  notification: text(2048).optional(),
});
const UsersBody = z.object({ userIDs: userIdList(MAX_USERS_PER_CALL) });
const UserBody = z.object({ userID: userIdField });
const AdminBody = z.object({ userID: userIdField, admin: z.boolean() });
const MuteBody = z.object({
  userID: userIdField,
  seconds: z
    .number()
    .int()
    .min(0)
    .max(366 * 86_400),
});
const MuteAllBody = z.object({ muted: z.boolean() });
const JoinModeBody = z.object({ joinMode: z.enum(JOIN_MODES) });
const PageQuery = z.object({
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_MEMBER_PAGE).default(100),
});

/** A page of the ban list or the join requests, each entry with its user (from D1). */
async function accessList(c: Context<AppEnv>, list: "bans" | "requests") {
  const groupId = groupIdParam(c);
  const { offset, limit } = validated(PageQuery, c.req.query());
  const result = await c.env.CONVERSATION_OBJECT.getByName(groupConversationId(groupId)).groupAccessList(
    c.var.userId,
    list,
    offset,
    limit,
  );
  if (!result.ok) throw new ApiError(result.status, result.message);
  const ids = list === "bans" ? result.bans.map((b) => b.userId) : result.requests.map((r) => r.userId);
  const users = new Map<string, UserJson>(
    (await findUsersByIds(database(c.env), ids)).map((u) => [u.id, toUserJson(u)]),
  );
  return list === "bans"
    ? result.bans.map((b) => ({
        groupID: groupId,
        userID: b.userId,
        operatorUserID: b.bannedBy,
        createTime: b.bannedAt,
        user: users.get(b.userId) ?? null,
      }))
    : result.requests.map((r) => ({
        groupID: groupId,
        userID: r.userId,
        createTime: r.requestedAt,
        user: users.get(r.userId) ?? null,
      }));
}

function groupIdParam(c: Context<AppEnv>): string {
  return validated(groupIdField, c.req.param("groupID"));
}

/**
 * Runs a command in the group's object; its refusal becomes the HTTP error. Returns whether D1
 * already has the change (the object has it either way, and writes it to D1 on its own).
 */
async function command(c: Context<AppEnv>, groupId: string, cmd: GroupCommand): Promise<boolean> {
  const result = await c.env.CONVERSATION_OBJECT.getByName(groupConversationId(groupId)).groupCommand(cmd);
  if (!result.ok) throw new ApiError(result.status, result.message);
  return result.synced;
}

/** A command on a list of users (`{userIDs}`): invite, kick, unban, approve or reject. */
type UsersOp = Extract<GroupCommand, { userIds: string[] }>["op"];

function usersCommand(op: UsersOp) {
  return async (c: Context<AppEnv>) => {
    const { userIDs } = await jsonBody(c, UsersBody);
    await command(c, groupIdParam(c), { op, actor: c.var.userId, userIds: userIDs });
    return ok(c, null);
  };
}

async function groupJson(c: Context<AppEnv>, groupId: string): Promise<GroupJson> {
  const row = await findGroup(database(c.env), groupId);
  if (!row) throw notFound("Group not found");
  return toGroupJson(row);
}

/** The group after a change: from D1 once D1 has the change; until then a 503 that says so. */
async function groupAfter(c: Context<AppEnv>, groupId: string, synced: boolean): Promise<GroupJson> {
  if (!synced)
    throw new ApiError(
      503,
      "the change is saved; the group's details are not updated yet, read it again shortly",
    );
  return groupJson(c, groupId);
}

export const groupRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  // Literal segments before {groupID} (http-api.md §2.8).
  .post("/create", async (c) => {
    const body = await jsonBody(c, CreateBody);
    const groupId = ulid();
    const synced = await command(c, groupId, {
      op: "create",
      actor: c.var.userId,
      name: body.groupName,
      faceUrl: body.faceURL,
      introduction: body.introduction,
      memberIds: body.memberUserIDs,
    });
    return ok(c, await groupAfter(c, groupId, synced));
  })
  .post("/update", async (c) => {
    const body = await jsonBody(c, UpdateBody);
    const patch = {
      ...(body.groupName !== undefined && { name: body.groupName }),
      ...(body.faceURL !== undefined && { faceUrl: body.faceURL }),
      ...(body.introduction !== undefined && { introduction: body.introduction }),
      ...(body.notification !== undefined && { notification: body.notification }),
    };
    const synced = await command(c, body.groupID, { op: "update", actor: c.var.userId, patch });
    return ok(c, await groupAfter(c, body.groupID, synced));
  })
  .get("/my/list", async (c) => ok(c, (await groupsOf(database(c.env), c.var.userId)).map(toGroupJson)))
  .get("/:groupID", async (c) => ok(c, await groupJson(c, groupIdParam(c))))
  .post("/:groupID/join", async (c) => {
    const groupId = groupIdParam(c);
    const synced = await command(c, groupId, { op: "join", actor: c.var.userId });
    return ok(c, await groupAfter(c, groupId, synced));
  })
  .post("/:groupID/leave", async (c) => {
    await command(c, groupIdParam(c), { op: "leave", actor: c.var.userId });
    return ok(c, null);
  })
  .post("/:groupID/invite", usersCommand("invite"))
  .post("/:groupID/kick", usersCommand("kick"))
  .post("/:groupID/dismiss", async (c) => {
    await command(c, groupIdParam(c), { op: "dismiss", actor: c.var.userId });
    return ok(c, null);
  })
  .post("/:groupID/transfer", async (c) => {
    const { userID } = await jsonBody(c, UserBody);
    const groupId = groupIdParam(c);
    const synced = await command(c, groupId, { op: "transfer", actor: c.var.userId, userId: userID });
    return ok(c, await groupAfter(c, groupId, synced));
  })
  .post("/:groupID/admin", async (c) => {
    const body = await jsonBody(c, AdminBody);
    await command(c, groupIdParam(c), {
      op: "setAdmin",
      actor: c.var.userId,
      userId: body.userID,
      admin: body.admin,
    });
    return ok(c, null);
  })
  .post("/:groupID/mute", async (c) => {
    const body = await jsonBody(c, MuteBody);
    await command(c, groupIdParam(c), {
      op: "mute",
      actor: c.var.userId,
      userId: body.userID,
      seconds: body.seconds,
    });
    return ok(c, null);
  })
  .post("/:groupID/mute-all", async (c) => {
    const { muted } = await jsonBody(c, MuteAllBody);
    const groupId = groupIdParam(c);
    const synced = await command(c, groupId, { op: "muteAll", actor: c.var.userId, muted });
    return ok(c, await groupAfter(c, groupId, synced));
  })
  .post("/:groupID/join-mode", async (c) => {
    const { joinMode } = await jsonBody(c, JoinModeBody);
    const groupId = groupIdParam(c);
    const synced = await command(c, groupId, { op: "joinMode", actor: c.var.userId, mode: joinMode });
    return ok(c, await groupAfter(c, groupId, synced));
  })
  .get("/:groupID/bans", async (c) => ok(c, await accessList(c, "bans")))
  .post("/:groupID/unban", usersCommand("unban"))
  .get("/:groupID/requests", async (c) => ok(c, await accessList(c, "requests")))
  .post("/:groupID/requests/approve", usersCommand("approve"))
  .post("/:groupID/requests/reject", usersCommand("reject"))
  .get("/:groupID/members", async (c) => {
    const groupId = groupIdParam(c);
    const { offset, limit } = validated(PageQuery, c.req.query());
    const db = database(c.env);
    if (!(await findGroup(db, groupId))) throw notFound("Group not found");
    if (!(await isGroupMember(db, groupId, c.var.userId)))
      throw new ApiError(403, "only members can list members");
    return ok(c, await membersPage(db, groupId, offset, limit));
  });
