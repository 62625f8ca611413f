// POST /api/admin/messages/remove: takes any message down, by conversation and seq or
// server_msg_id. The conversation's object revokes it as the admin (no sender, role or time
// check): every member's devices get a revoke push, sync shows it revoked, D1 gets the empty row.
import { Hono } from "hono";
import { z } from "zod";
import { ApiError, ok } from "../../../http/envelope";
import { jsonBody } from "../../../http/validate";
import { ConversationType, isValidId, parseConversationId } from "../../../protocol/conversation-id";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";

const RemoveBody = z
  .object({
    conversationID: z.string().refine((id) => {
      const parsed = parseConversationId(id);
      // Chatrooms keep no per-member history to revoke in (their own objects, not this one).
      return parsed !== null && parsed.type !== ConversationType.chatroom;
    }, "must be a one-to-one, group or system conversation id"),
    seq: z.number().int().min(1).optional(),
    serverMsgID: z.string().refine(isValidId, "must be a server message id").optional(),
  })
  .refine((body) => (body.seq === undefined) !== (body.serverMsgID === undefined), {
    error: "give exactly one of seq and serverMsgID",
  });

export const adminMessageRoutes = new Hono<AppEnv>().post("/remove", audited("message.remove"), async (c) => {
  const body = await jsonBody(c, RemoveBody);
  noteAudit(c, body.conversationID, {
    ...(body.seq !== undefined && { seq: body.seq }),
    ...(body.serverMsgID !== undefined && { serverMsgID: body.serverMsgID }),
  });
  const target = body.seq !== undefined ? { seq: body.seq } : { serverMsgId: body.serverMsgID ?? "" };
  const result = await c.env.CONVERSATION_OBJECT.getByName(body.conversationID).adminRevoke(target);
  if (!result.ok) throw new ApiError(result.status, result.message);
  return ok(c, {
    conversationID: body.conversationID,
    seq: result.seq,
    serverMsgID: result.serverMsgId,
    revokedTime: result.revokedTime,
  });
});
