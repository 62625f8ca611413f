// Who may act on which message, for the rich-message requests (docs/RICH-MESSAGES.md): a member of
// the conversation (an active one to change anything), and a message they could see (seq from their
// first seq up to where they left).
import { Err } from "../../protocol/codec";
import { ConversationType, type ParsedConversation } from "../../protocol/conversation-id";
import type { Identity, StoredMessage } from "../message";
import { refusal, type Pin, type Refusal } from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor, sendRefusal } from "./conversation-access";
import type { Member } from "./member-store";

/** The member, or why not: `active` for a change, which a member who left may no longer make. */
export function memberOf(
  c: Pick<ConversationContext, "members">,
  conversation: ParsedConversation,
  userId: string,
  active: boolean,
): Member | Refusal {
  const member = memberFor(c.members, conversation, userId);
  if (!member || (active && member.leftSeq !== null))
    return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  return member;
}

/** Whether the member could see the message at this seq. */
export function sees(member: Member, seq: number): boolean {
  return seq >= member.firstSeq && seq <= (member.leftSeq ?? Infinity);
}

/** The pinned messages the member could see: one who joined later learns nothing of earlier ones. */
export function visiblePins(pins: readonly Pin[], member: Member): Pin[] {
  return pins.filter((pin) => sees(member, pin.seq));
}

/** The member and a message they can see, or why not. */
export function memberAndMessage(
  c: Pick<ConversationContext, "members" | "messages">,
  conversation: ParsedConversation,
  id: Identity,
  userId: string,
  serverMsgId: string,
  active: boolean,
): { member: Member; message: StoredMessage } | Refusal {
  const member = memberOf(c, conversation, userId, active);
  if ("ok" in member) return member;
  const message = typeof serverMsgId === "string" ? c.messages.findByServerMsgId(serverMsgId, id) : null;
  if (!message || !sees(member, message.seq))
    return refusal(Err.ERR_INVALID_PARAM, "no such message in this conversation");
  return { member, message };
}

/**
 * Why this member may not change a message now (edit, react, pin), or null: where a send would be
 * refused (a block by the peer, a dismissed group, a member muted or a group muted for all but its
 * owner and admins; sendRefusal, same codes), and also where the member blocks the peer: a change
 * reaches the other side live, and neither side of a block hears from the other. Mutes bind only
 * plain members, so they never refuse a pin (in a group only the owner and admins pin).
 */
export async function changeRefusal(
  c: Pick<ConversationContext, "blocks" | "db" | "members" | "now">,
  conversation: ParsedConversation,
  userId: string,
): Promise<Refusal | null> {
  // A system conversation is written by the server alone: its owner may still react to its notices
  // (and never sent a message to edit there).
  if (conversation.type === ConversationType.system) return null;
  const refused = await sendRefusal(c, conversation, userId);
  if (refused) return refused;
  if (conversation.type === ConversationType.single && c.blocks.isBlocking(userId))
    return refusal(Err.ERR_PERMISSION_DENIED, "you block this user");
  return null;
}
