// Who may do what in a conversation, decided by its object: whether the conversation is there at
// all, who its members are (a one-to-one's pair and a system conversation's owner are members
// before any row exists), what each member may see, and why a sender may not send now.
import { existingUserIds } from "../../db/users";
import { Err } from "../../protocol/codec";
import { ConversationType, peerOf, type ParsedConversation } from "../../protocol/conversation-id";
import { refusal, type Refusal } from "../rpc";
import type { ConversationContext } from "./context";
import { registerSingleConversation } from "./history-outbox";
import type { Named } from "./identity";
import { GroupStatus } from "../../../schema/tables";
import { Role, type Member, type MemberStore } from "./member-store";

/** What a call does with the conversation: only a write or a create stores its identity. */
export type Use = "read" | "write" | "create";

/**
 * The conversation, for a call that reads, writes or creates it; a group must exist unless it is
 * being created. A read-only call ("read") never binds: an object asked about an id it never held
 * writes nothing.
 */
export function admit(
  c: Pick<ConversationContext, "identities" | "members">,
  named: Named | Refusal,
  use: Use,
): Named | Refusal {
  if ("ok" in named) return named;
  if (named.conversation.type === ConversationType.group && use !== "create" && c.members.isEmpty()) {
    return refusal(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${named.id.conversationId} does not exist`);
  }
  if (use !== "read") c.identities.bind(named.id);
  return named;
}

/** Members of one-to-one and system conversations exist before any row does. */
const implicitMember = (userId: string): Member => ({
  userId,
  role: Role.member,
  firstSeq: 1,
  leftSeq: null,
  mutedUntil: 0,
  fanoutSeq: 0,
  readSeq: 0,
  deliveredSeq: 0,
});

/** Who may read here: the pair of a one-to-one, the owner of a system conversation, group members. */
export function memberFor(
  members: MemberStore,
  conversation: ParsedConversation,
  userId: string,
): Member | null {
  const row = members.get(userId);
  switch (conversation.type) {
    case ConversationType.single:
      return conversation.members.includes(userId) ? (row ?? implicitMember(userId)) : null;
    case ConversationType.system:
      return conversation.ownerId === userId ? (row ?? implicitMember(userId)) : null;
    default:
      return row;
  }
}

/** The newest seq a member may see: all of them, or up to where they left. */
export function visibleMax(maxSeq: number, member: Member): number {
  return Math.min(maxSeq, member.leftSeq ?? Infinity);
}

/** Why this sender may not send here now, or null. A one-to-one's first send starts it in D1. */
export async function sendRefusal(
  c: Pick<ConversationContext, "blocks" | "db" | "members" | "now">,
  conversation: ParsedConversation,
  senderId: string,
): Promise<Refusal | null> {
  const member = memberFor(c.members, conversation, senderId);
  if (conversation.type === ConversationType.group) return groupSendRefusal(c, member);
  if (conversation.type !== ConversationType.single)
    return refusal(Err.ERR_PERMISSION_DENIED, "only the server writes to this conversation");
  const peer = peerOf(conversation, senderId);
  if (!member || !peer)
    return refusal(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
  if (c.blocks.isBlocking(peer))
    return refusal(Err.ERR_PERMISSION_DENIED, "this user does not accept your messages");
  if (c.members.isEmpty()) return startSingle(c, conversation.id, conversation.members);
  return null;
}

function groupSendRefusal(
  c: Pick<ConversationContext, "members" | "now">,
  member: Member | null,
): Refusal | null {
  if (!member || member.leftSeq !== null)
    return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this group");
  const state = c.members.groupState();
  if (state.status === GroupStatus.dismissed)
    return refusal(Err.ERR_PERMISSION_DENIED, "the group has been dismissed");
  if (member.role >= Role.admin) return null;
  if (state.muteAll)
    return refusal(Err.ERR_PERMISSION_DENIED, "the group is muted: only the owner and admins can send");
  if (member.mutedUntil > c.now()) {
    return refusal(
      Err.ERR_PERMISSION_DENIED,
      `you are muted until ${new Date(member.mutedUntil).toISOString()}`,
    );
  }
  return null;
}

/** First message of a one-to-one conversation: both users must exist. */
async function startSingle(
  c: Pick<ConversationContext, "db" | "members">,
  conversationId: string,
  members: readonly [string, string],
): Promise<Refusal | null> {
  const db = c.db();
  const existing = await existingUserIds(db, members);
  if (!members.every((m) => existing.has(m)))
    return refusal(Err.ERR_USER_NOT_EXIST, "receiver does not exist");
  await registerSingleConversation(db, conversationId, members);
  for (const m of members) if (!c.members.get(m)) c.members.join(m, Role.member, 1);
  return null;
}
