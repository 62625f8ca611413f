// D1 `chatrooms`: the list of rooms (docs/CHATROOMS.md). A room's messages and listeners are its
// objects'; D1 answers who created it, whether it is open, and how many rooms a creator holds.
import { and, eq, isNull, sql } from "drizzle-orm";
import { chatrooms } from "../../schema/tables";
import { ChatroomAccess, type ChatroomMeta } from "../objects/chatroom/types";
import type { Database } from "./client";

export type ChatroomRow = typeof chatrooms.$inferSelect;

export function toChatroomMeta(row: ChatroomRow): ChatroomMeta {
  return {
    id: row.id,
    name: row.name,
    creatorId: row.creatorId,
    access: row.access === ChatroomAccess.token ? ChatroomAccess.token : ChatroomAccess.open,
    createdAt: row.createdAt,
  };
}

/**
 * Adds a room unless its creator already holds `perUser` open rooms: one statement, so two
 * creations at once cannot both pass the count. The new row, or null when refused.
 */
export async function createChatroom(
  db: Database,
  room: { id: string; name: string; creatorId: string; access: ChatroomAccess },
  perUser: number,
): Promise<ChatroomRow | null> {
  const result = await db.run(sql`
    INSERT INTO chatrooms (id, name, creator_id, access)
    SELECT ${room.id}, ${room.name}, ${room.creatorId}, ${room.access}
    WHERE (SELECT count(*) FROM chatrooms WHERE creator_id = ${room.creatorId} AND closed_at IS NULL) < ${perUser}`);
  if (result.meta.changes !== 1) return null;
  return (await findChatroom(db, room.id)) ?? null;
}

export async function findChatroom(db: Database, id: string): Promise<ChatroomRow | undefined> {
  return db.select().from(chatrooms).where(eq(chatrooms.id, id)).get();
}

/** The room if it exists and is open. */
export async function findOpenChatroom(db: Database, id: string): Promise<ChatroomRow | undefined> {
  return db
    .select()
    .from(chatrooms)
    .where(and(eq(chatrooms.id, id), isNull(chatrooms.closedAt)))
    .get();
}

/** Marks the room closed (joins refused from now on); closing twice keeps the first time. */
export async function markChatroomClosed(db: Database, id: string): Promise<void> {
  await db
    .update(chatrooms)
    .set({ closedAt: Date.now() })
    .where(and(eq(chatrooms.id, id), isNull(chatrooms.closedAt)));
}
