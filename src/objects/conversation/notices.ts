// Notices: messages the server writes (message_type 8), with a JSON payload saying what happened.
// A group's membership changes append one as their actor (group-runner.ts); friend requests and
// the like go to a user's system conversation (`system_<userId>`), from SYSTEM_SENDER.
import type { Identity, StoredMessage } from "../message";
import { newMessageId } from "../message-ids";
import type { ConversationContext } from "./context";
import { Role } from "./member-store";

/** The sender id of notices in a user's system conversation. */
export const SYSTEM_SENDER = "system";
/** message_type of notices (PROTOCOL.md, "Value sets"). */
export const NOTICE_MESSAGE_TYPE = 8;

export type NoticePayload = Record<string, unknown> & { type: string };

/** Stores a notice under the next seq; the caller fans it out. */
export function appendNotice(
  c: Pick<ConversationContext, "messages">,
  id: Identity,
  actor: string,
  payload: Record<string, unknown>,
): StoredMessage {
  const now = Date.now();
  return c.messages.append(
    {
      serverMsgId: newMessageId(),
      clientMsgId: `notice-${newMessageId()}`,
      senderId: actor,
      receiverId: "",
      messageType: NOTICE_MESSAGE_TYPE,
      content: new TextEncoder().encode(JSON.stringify(payload)),
      sendTime: now,
      serverTime: now,
      extra: "",
      attachedInfo: "",
      originSession: "",
    },
    id,
  );
}

/** A notice for the owner of a system conversation: stored, delivered, and flushed to D1. */
export async function postSystemNotice(
  c: Pick<ConversationContext, "fanout" | "history" | "members" | "messages">,
  id: Identity,
  ownerId: string,
  payload: NoticePayload,
): Promise<void> {
  if (!c.members.get(ownerId)) c.members.join(ownerId, Role.member, 1);
  appendNotice(c, id, SYSTEM_SENDER, payload);
  c.fanout.kick([ownerId], id);
  await c.history.afterSend(id);
}
