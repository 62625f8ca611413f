// The names chatroom objects are reached by: a room's ChatroomObject is `chatroom_<roomId>` (the
// conversation id the protocol reserves for it), its relays `chatroom_<roomId>#<n>`.
import { isValidId } from "../../protocol/conversation-id";

const ROOM_PREFIX = "chatroom_";

export function roomObjectName(roomId: string): string {
  return `${ROOM_PREFIX}${roomId}`;
}

export function relayObjectName(roomId: string, relay: number): string {
  return `${ROOM_PREFIX}${roomId}#${relay}`;
}

/** The room an object name names, or null (a malformed name, or none: an alarm may run without one). */
export function roomIdOfName(name: string | undefined): string | null {
  if (!name?.startsWith(ROOM_PREFIX)) return null;
  const roomId = name.slice(ROOM_PREFIX.length).split("#")[0] ?? "";
  return isValidId(roomId) ? roomId : null;
}
