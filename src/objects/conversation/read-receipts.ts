// A member's read and delivered watermarks. A read receipt moves the read watermark and tells the
// senders of the messages it newly covered, each sender once with their own messages; a group's
// senders are told only up to the receipt size setting (PROTOCOL.md, decision 10). Delivered marks
// (MSG_ACK) only move the watermark: a one-to-one message's status comes from it.
import { Err } from "../../protocol/codec";
import { ConversationType, peerOf, type ParsedConversation } from "../../protocol/conversation-id";
import { refusal, type MarkReadInput, type MarkReadResult } from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor, visibleMax } from "./conversation-access";
import type { Named } from "./identity";
import { SYSTEM_SENDER } from "./notices";
import { logEvent } from "../../observability/log";

/**
 * How many newly read messages one receipt push names, and the answer lists (PROTOCOL.md,
 * decision 10). Not to be confused with how many ids a client's receipt request may carry.
 */
export const RECEIPT_PUSH_MAX_IDS = 100;

export function markRead(
  c: Pick<ConversationContext, "members" | "messages" | "settings" | "users">,
  { conversation, id }: Named,
  input: MarkReadInput,
): MarkReadResult {
  const member = memberFor(c.members, conversation, input.userId);
  if (!member) return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  const readTime = Date.now();
  const peerId = peerOf(conversation, input.userId);
  const result = (readSeq: number, newlyRead: string[] | null): MarkReadResult => ({
    ok: true,
    conversationType: id.conversationType,
    peerId,
    readSeq,
    advanced: newlyRead !== null,
    newlyRead: newlyRead ?? [],
    readTime,
  });
  if (!c.members.get(input.userId)) return result(0, null); // nothing was ever sent here
  const cap = visibleMax(c.messages.maxSeq(), member);
  let target = cap;
  if (input.serverMsgIds.length > 0) {
    const found = c.messages.lookup(input.serverMsgIds);
    if (found.length === 0)
      return refusal(Err.ERR_INVALID_PARAM, "none of server_msg_ids is in this conversation");
    target = Math.min(cap, Math.max(...found.map((f) => f.seq)));
  }
  const before = c.members.advanceRead(input.userId, target, cap);
  if (target <= before) return result(before, null);

  const newly = c.messages.othersMessagesBetween(before, target, input.userId, RECEIPT_PUSH_MAX_IDS);
  if (pushesReceipts(c, conversation)) {
    const bySender = new Map<string, string[]>();
    for (const { serverMsgId, senderId } of newly) {
      if (senderId === SYSTEM_SENDER) continue;
      bySender.set(senderId, [...(bySender.get(senderId) ?? []), serverMsgId]);
    }
    for (const [sender, serverMsgIds] of bySender) {
      const push = { conversationId: id.conversationId, userId: input.userId, serverMsgIds, readTime };
      void c
        .users()
        .getByName(sender)
        .pushReceipt(push)
        .catch((error: unknown) => logEvent("error", "receipt_push_failed", { userId: sender }, error));
    }
  }
  return result(
    target,
    newly.map((n) => n.serverMsgId),
  );
}

/** MSG_ACK: the member's devices have the messages up to `seq` (a member with no row has none). */
export function markDelivered(
  c: Pick<ConversationContext, "members" | "messages">,
  { conversation }: Named,
  userId: string,
  seq: number,
): void {
  const member = memberFor(c.members, conversation, userId);
  if (member && c.members.get(userId))
    c.members.advanceDelivered(userId, seq, visibleMax(c.messages.maxSeq(), member));
}

/** Senders are told of reads in one-to-one conversations, and in groups up to the receipt size setting. */
function pushesReceipts(
  c: Pick<ConversationContext, "members" | "settings">,
  conversation: ParsedConversation,
): boolean {
  return (
    conversation.type === ConversationType.single ||
    (conversation.type === ConversationType.group &&
      c.members.activeCount() <= c.settings().groupReceiptMaxMembers)
  );
}
