// /api/admin/system: a system message to one user or to everyone. A
// system message is a notice (message_type 8, {"type": "system_message", "text": ...}) in each
// user's own `system_<userId>` conversation, so an offline user finds it at the next sync.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { database } from "../../../db/client";
import { activeUserIdsAfter, findUserById } from "../../../db/users";
import { notFound, ok } from "../../../http/envelope";
import { userIdField } from "../../../http/schemas";
import { jsonBody } from "../../../http/validate";
import { mapLimited } from "../../../lib/map-limited";
import { systemConversationId } from "../../../protocol/conversation-id";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";
import { logEvent } from "../../../observability/log";

/**
 * Users one broadcast call reaches: each is one RPC to a system conversation, and a Worker
 * invocation has a bounded number of subrequests (1,000 on the Paid plan,
 * developers.cloudflare.com/workers/platform/limits), so a call does a page and names the next.
 */
export const BROADCAST_USERS_PER_CALL = 200;
/** System conversations written at once during a broadcast. */
const BROADCAST_CONCURRENCY = 8;
/** Longest system message, in characters. */
export const MAX_SYSTEM_TEXT = 4000;

const systemText = z.string().trim().min(1, "must not be empty").max(MAX_SYSTEM_TEXT);
const MessageBody = z.object({ userID: userIdField, text: systemText });
const BroadcastBody = z.object({
  text: systemText,
  // The previous call's `next`: the broadcast goes on after that user id.
  after: userIdField.optional(),
});

function systemMessage(c: Context<AppEnv>, userId: string, text: string): Promise<void> {
  return c.env.CONVERSATION_OBJECT.getByName(systemConversationId(userId)).postNotice({
    type: "system_message",
    text,
  });
}

export const adminSystemRoutes = new Hono<AppEnv>()
  .post("/message", audited("system.message"), async (c) => {
    const { userID, text } = await jsonBody(c, MessageBody);
    noteAudit(c, userID, { length: text.length });
    if (!(await findUserById(database(c.env), userID))) throw notFound("User not found");
    await systemMessage(c, userID, text);
    return ok(c, null);
  })
  .post("/broadcast", audited("system.broadcast"), async (c) => {
    const { text, after } = await jsonBody(c, BroadcastBody);
    noteAudit(c, "", { length: text.length, ...(after !== undefined && { after }) });
    const userIds = await activeUserIdsAfter(database(c.env), after ?? "", BROADCAST_USERS_PER_CALL);
    const failed: string[] = [];
    await mapLimited(userIds, BROADCAST_CONCURRENCY, async (userId) => {
      try {
        await systemMessage(c, userId, text);
      } catch (error) {
        logEvent("error", "system_message_failed", { userId }, error);
        failed.push(userId);
      }
    });
    const last = userIds.at(-1);
    return ok(c, {
      sent: userIds.length - failed.length,
      failed,
      // Call again with `after: next` until it is null.
      next: last !== undefined && userIds.length === BROADCAST_USERS_PER_CALL ? last : null,
    });
  });
