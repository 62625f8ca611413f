// /api/admin/groups: look a group up, dismiss it, change its owner, remove a member. Changes go
// through the group's ConversationObject as ADMIN_ACTOR (group-commands.ts), the same commands
// and notices as an owner's: members see "dismissed by admin" and the like in the group.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { database } from "../../../db/client";
import { findGroup, membersPage, toGroupJson } from "../../../db/groups";
import { ApiError, notFound, ok } from "../../../http/envelope";
import { userIdField } from "../../../http/schemas";
import { jsonBody, validated } from "../../../http/validate";
import { ADMIN_ACTOR } from "../../../objects/admin-actor";
import type { GroupCommand } from "../../../objects/conversation/group-commands";
import { groupConversationId, isValidId } from "../../../protocol/conversation-id";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";
import { MAX_MEMBER_PAGE } from "../groups";

const groupIdField = z.string().refine(isValidId, "must be a group id");
const UserBody = z.object({ userID: userIdField });
const MembersQuery = z.object({
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_MEMBER_PAGE).default(100),
});

/** The group the path names, noted for the audit row before anything can fail. */
function targetGroup(c: Context<AppEnv>): string {
  const groupId = validated(groupIdField, c.req.param("groupID"));
  noteAudit(c, groupId);
  return groupId;
}

/**
 * Runs a command as the admin in the group's object; its refusal becomes the HTTP error. The
 * answer says whether D1 already has the change (the object writes it there on its own).
 */
async function adminCommand(c: Context<AppEnv>, groupId: string, command: GroupCommand) {
  const result = await c.env.CONVERSATION_OBJECT.getByName(groupConversationId(groupId)).groupCommand(
    command,
  );
  if (!result.ok) throw new ApiError(result.status, result.message);
  return { changed: result.changed, synced: result.synced };
}

export const adminGroupRoutes = new Hono<AppEnv>()
  .get("/:groupID", audited("group.get"), async (c) => {
    const groupId = targetGroup(c);
    const { offset, limit } = validated(MembersQuery, c.req.query());
    const db = database(c.env);
    const row = await findGroup(db, groupId);
    if (!row) throw notFound("Group not found");
    return ok(c, { group: toGroupJson(row), members: await membersPage(db, groupId, offset, limit) });
  })
  .post("/:groupID/dismiss", audited("group.dismiss"), async (c) => {
    const groupId = targetGroup(c);
    return ok(c, await adminCommand(c, groupId, { op: "dismiss", actor: ADMIN_ACTOR }));
  })
  .post("/:groupID/owner", audited("group.owner"), async (c) => {
    const groupId = targetGroup(c);
    const { userID } = await jsonBody(c, UserBody);
    noteAudit(c, groupId, { userID });
    return ok(c, await adminCommand(c, groupId, { op: "transfer", actor: ADMIN_ACTOR, userId: userID }));
  })
  .post("/:groupID/remove-member", audited("group.removeMember"), async (c) => {
    const groupId = targetGroup(c);
    const { userID } = await jsonBody(c, UserBody);
    noteAudit(c, groupId, { userID });
    // A kick: the member leaves and may not rejoin on their own (an owner's invite lets them back).
    return ok(c, await adminCommand(c, groupId, { op: "kick", actor: ADMIN_ACTOR, userIds: [userID] }));
  });
