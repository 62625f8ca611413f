// Closing a chatroom, for its creator (DELETE /api/chatrooms/:id) and an admin
// (DELETE /api/admin/chatrooms/:id): D1 first, so joins are refused from then on, then the room,
// which refuses sends and tells every listener (CHATROOM_CLOSED) before closing its socket. A
// failed call to the room is answered 500 and a repeat of the DELETE does the rest.
import { markChatroomClosed } from "../db/chatrooms";
import type { Database } from "../db/client";
import { roomObjectName } from "../objects/chatroom/names";

export async function closeChatroom(env: Env, db: Database, roomId: string, reason: string): Promise<void> {
  await markChatroomClosed(db, roomId);
  await env.CHATROOM_OBJECT.getByName(roomObjectName(roomId)).close(roomId, reason);
}
