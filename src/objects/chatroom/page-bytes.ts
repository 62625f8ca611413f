// Room messages cut to what one frame may carry (a push, CHATROOM_JOINED's recent messages, a
// history page): no frame the server sends exceeds MAX_FRAME_BYTES (PROTOCOL.md, decision 9), and a
// room message's content may be up to 64 KiB. The first (or newest) message always goes.
import { SYNC_RESPONSE_BUDGET_BYTES } from "../../protocol/limits";
import type { RoomMessage } from "./types";

/** The frame budget for a page of room messages (room for the envelope under MAX_FRAME_BYTES). */
export const PAGE_BUDGET_BYTES = SYNC_RESPONSE_BUDGET_BYTES;

/** An upper bound of one message's encoded size: content, ids, and the varints and tags around them. */
function sizeBound(m: RoomMessage): number {
  return m.content.byteLength + m.serverMsgId.length + m.clientMsgId.length * 3 + m.senderId.length + 64;
}

/** The longest prefix (the oldest) of `messages` within `maxBytes`. */
export function oldestWithinBytes(messages: RoomMessage[], maxBytes = PAGE_BUDGET_BYTES): RoomMessage[] {
  let used = 0;
  for (let i = 0; i < messages.length; i++) {
    used += sizeBound(messages[i] as RoomMessage);
    if (i > 0 && used > maxBytes) return messages.slice(0, i);
  }
  return messages;
}

/** The longest suffix (the newest) of `messages` within `maxBytes`. */
export function newestWithinBytes(messages: RoomMessage[], maxBytes = PAGE_BUDGET_BYTES): RoomMessage[] {
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    used += sizeBound(messages[i] as RoomMessage);
    if (i < messages.length - 1 && used > maxBytes) return messages.slice(i + 1);
  }
  return messages;
}
