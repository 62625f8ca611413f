// Whether a user belongs to a conversation, decided in the user's own object before any
// conversation object is called: a conversation id the user has no part in never creates, wakes or
// writes an object (docs/RELIABILITY.md, "Review findings (issue 12)").
import { database } from "../../db/client";
import { findGroup, isGroupMember } from "../../db/groups";
import { existingUserIds } from "../../db/users";
import { Err } from "../../protocol/codec";
import { ConversationType, peerOf, type ParsedConversation } from "../../protocol/conversation-id";
import type { UserServices } from "./frame-context";

export interface Refusal {
  ok: false;
  code: Err;
  message: string;
}
const refusal = (code: Err, message: string): Refusal => ({ ok: false, code, message });

/**
 * Null when `userId` may ask the conversation's object about it: the conversation is in the user's
 * inbox (every conversation that ever delivered a message to the user, their own included), or, for
 * a group just joined whose notice is still on its way, D1 lists the user as a member (the group's
 * object has written D1 before it answers a join). Anything else is refused without touching the object.
 */
export async function memberRefusal(
  services: Pick<UserServices, "env" | "inbox">,
  userId: string,
  conversation: ParsedConversation,
): Promise<Refusal | null> {
  const notExist = refusal(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversation.id} does not exist`);
  const notMember = refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  switch (conversation.type) {
    case ConversationType.chatroom:
      return notExist;
    case ConversationType.single:
      if (!conversation.members.includes(userId)) return notMember;
      break;
    case ConversationType.system:
      if (conversation.ownerId !== userId) return notMember;
      break;
    case ConversationType.group:
      break;
  }
  if (services.inbox.holds(conversation.id)) return null;
  if (conversation.type !== ConversationType.group) return notExist;
  const db = database(services.env);
  if (await isGroupMember(db, conversation.groupId, userId)) return null;
  return (await findGroup(db, conversation.groupId)) ? notMember : notExist;
}

/**
 * Null when the user may send here: a member (above), or the first message of a one-to-one
 * conversation with a user who exists (the conversation object starts it). An unknown receiver is
 * ERR_USER_NOT_EXIST (PROTOCOL.md, decision 2).
 */
export async function sendRefusal(
  services: Pick<UserServices, "env" | "inbox">,
  userId: string,
  conversation: ParsedConversation,
): Promise<Refusal | null> {
  if (conversation.type !== ConversationType.single || services.inbox.holds(conversation.id))
    return memberRefusal(services, userId, conversation);
  const peer = peerOf(conversation, userId);
  if (!peer) return memberRefusal(services, userId, conversation);
  const existing = await existingUserIds(database(services.env), [peer]);
  return existing.has(peer) ? null : refusal(Err.ERR_USER_NOT_EXIST, "receiver does not exist");
}
