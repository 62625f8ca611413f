// Who may act on which message, for the rich-message requests (docs/RICH-MESSAGES.md): a member of
// the conversation (an active one to change anything), and a message they could see (seq from their
// first seq up to where they left).
import { Err } from "../../protocol/codec";
import type { ParsedConversation } from "../../protocol/conversation-id";
import type { Identity, StoredMessage } from "../message";
import { refusal, type Refusal } from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor } from "./conversation-access";
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
