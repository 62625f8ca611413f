// /api/admin/chatrooms: close any room (docs/CHATROOMS.md); its listeners are told "closed by admin".
import { Hono } from "hono";
import { database } from "../../../db/client";
import { findChatroom } from "../../../db/chatrooms";
import { notFound, ok } from "../../../http/envelope";
import { validated } from "../../../http/validate";
import { closeChatroom } from "../../chatroom-close";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";
import { chatroomIdField } from "../chatrooms";

export const adminChatroomRoutes = new Hono<AppEnv>().delete("/:id", audited("chatroom.close"), async (c) => {
  const roomId = validated(chatroomIdField, c.req.param("id"));
  noteAudit(c, roomId);
  const db = database(c.env);
  if (!(await findChatroom(db, roomId))) throw notFound("Chatroom not found");
  await closeChatroom(c.env, db, roomId, "closed by admin");
  return ok(c, null);
});
