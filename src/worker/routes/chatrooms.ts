// /api/chatrooms: create a room, read it, make join tokens for a "token" room, close it
// (docs/CHATROOMS.md). The list of rooms is D1 `chatrooms`; listeners and messages are the room's
// objects' (src/objects/chatroom/), reached by the socket route (chatroom-socket.ts).
import { Hono, type Context } from "hono";
import { ulid } from "ulid";
import { z } from "zod";
import {
  DEFAULT_JOIN_TOKEN_TTL_SECONDS,
  MAX_JOIN_TOKEN_TTL_SECONDS,
  signJoinToken,
} from "../../auth/chatroom-join-token";
import { throttled } from "../../auth/throttle";
import { createChatroom, findChatroom, findOpenChatroom, type ChatroomRow } from "../../db/chatrooms";
import { database } from "../../db/client";
import { ApiError, badRequest, notFound, ok } from "../../http/envelope";
import { jsonBody, validated } from "../../http/validate";
import { roomObjectName } from "../../objects/chatroom/names";
import { ChatroomAccess } from "../../objects/chatroom/types";
import { isValidId } from "../../protocol/conversation-id";
import { closeChatroom } from "../chatroom-close";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/**
 * Rooms one user may create a day, closed ones included: CHATROOMS_PER_USER bounds the open rooms,
 * this bounds how fast closed ones (a D1 row and a room object each) can pile up.
 */
export const CHATROOM_CREATIONS_PER_DAY = 100;
const DAY_MS = 86_400_000;

export const chatroomIdField = z.string().refine(isValidId, "must be a chatroom id");

const CreateBody = z.object({
  name: z.string().trim().min(1, "must not be empty").max(64),
  access: z.enum([ChatroomAccess.open, ChatroomAccess.token]).default(ChatroomAccess.open),
});
const TokenBody = z.object({
  ttlSeconds: z.number().int().min(1).max(MAX_JOIN_TOKEN_TTL_SECONDS).default(DEFAULT_JOIN_TOKEN_TTL_SECONDS),
});

export interface ChatroomJson {
  id: string;
  name: string;
  access: string;
  creatorId: string;
  createdAt: number;
}

export function toChatroomJson(row: ChatroomRow): ChatroomJson {
  return {
    id: row.id,
    name: row.name,
    access: row.access,
    creatorId: row.creatorId,
    createdAt: row.createdAt,
  };
}

/** The open room the path names; 404 for an unknown or closed one. */
async function openRoom(c: Context<AppEnv>): Promise<ChatroomRow> {
  const roomId = validated(chatroomIdField, c.req.param("id"));
  const row = await findOpenChatroom(database(c.env), roomId);
  if (!row) throw notFound("Chatroom not found");
  return row;
}

function creatorOnly(c: Context<AppEnv>, row: ChatroomRow): void {
  if (row.creatorId !== c.var.userId) throw new ApiError(403, "Only the chatroom's creator may do this");
}

export const chatroomRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/", async (c) => {
    const { name, access } = await jsonBody(c, CreateBody);
    const perUser = c.var.settings.chatroom.perUser;
    const creations = await c.env.GUARD_OBJECT.getByName(`chatroom-create-user:${c.var.userId}`).take(
      CHATROOM_CREATIONS_PER_DAY,
      DAY_MS,
    );
    if (!creations.allowed)
      throw throttled(creations, `Too many chatrooms created: at most ${CHATROOM_CREATIONS_PER_DAY} a day`);
    const row = await createChatroom(
      database(c.env),
      { id: ulid(), name, creatorId: c.var.userId, access },
      perUser,
    );
    if (!row) throw new ApiError(409, `Too many chatrooms: at most ${perUser} open per user`);
    return ok(c, { chatroom: toChatroomJson(row) });
  })
  .get("/:id", async (c) => {
    const row = await openRoom(c);
    const listeners = await c.env.CHATROOM_OBJECT.getByName(roomObjectName(row.id)).listeners();
    return ok(c, { chatroom: toChatroomJson(row), listeners });
  })
  .post("/:id/tokens", async (c) => {
    const row = await openRoom(c);
    creatorOnly(c, row);
    if (row.access !== ChatroomAccess.token)
      throw badRequest("This chatroom is open: joining needs no token");
    const { ttlSeconds } = await jsonBody(c, TokenBody);
    return ok(c, await signJoinToken(c.var.settings.jwtSecret, row.id, ttlSeconds));
  })
  .delete("/:id", async (c) => {
    // A closed room too: closing again finishes a close whose call to the room failed.
    const row = await findChatroom(database(c.env), validated(chatroomIdField, c.req.param("id")));
    if (!row) throw notFound("Chatroom not found");
    creatorOnly(c, row);
    await closeChatroom(c.env, database(c.env), row.id, "closed by its creator");
    return ok(c, null);
  });
