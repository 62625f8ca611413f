// Revoking a message: its sender within REVOKE_WINDOW_MS, a group's owner or admins at any time.
// The row keeps its seq, loses its content and is queued for D1 again in one transaction; every
// member who had the message is told (one who joined after it never had it).
import { Err } from "../../protocol/codec";
import { ConversationType } from "../../protocol/conversation-id";
import { refusal, type RevokeInput, type RevokeResult } from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor } from "./conversation-access";
import type { Named } from "./identity";
import { Role } from "./member-store";

/** A sender may revoke a message this long after its server_time (PROTOCOL.md, "Revoke"). */
export const REVOKE_WINDOW_MS = 2 * 60 * 1000;

export async function revoke(
  c: Pick<ConversationContext, "history" | "members" | "messages" | "now" | "outbox" | "storage" | "users">,
  { conversation, id }: Named,
  input: RevokeInput,
): Promise<RevokeResult> {
  const member = memberFor(c.members, conversation, input.userId);
  if (!member || member.leftSeq !== null)
    return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  const message = c.messages.findByServerMsgId(input.serverMsgId, id);
  if (!message || message.seq < member.firstSeq)
    return refusal(Err.ERR_INVALID_PARAM, "no such message in this conversation");
  if (message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "message already revoked");
  const now = c.now();
  const moderator = conversation.type === ConversationType.group && member.role >= Role.admin;
  if (!moderator) {
    if (message.senderId !== input.userId) {
      return refusal(
        Err.ERR_PERMISSION_DENIED,
        "only the sender (or a group owner or admin) can revoke this message",
      );
    }
    if (now - message.serverTime > REVOKE_WINDOW_MS) {
      return refusal(
        Err.ERR_PERMISSION_DENIED,
        `messages can only be revoked within ${REVOKE_WINDOW_MS / 60_000} minutes`,
      );
    }
  }
  c.storage.transactionSync(() => {
    c.messages.revoke(message.seq, input.userId, now);
    c.outbox.requeue(message.seq);
  });
  await c.history.afterSend(id);
  const push = {
    conversationId: id.conversationId,
    serverMsgId: message.serverMsgId,
    revokedBy: input.userId,
    revokedTime: now,
  };
  for (const userId of c.members.activeIds()) {
    // A member who joined after the message never had it: nothing to revoke there.
    if ((c.members.get(userId)?.firstSeq ?? 1) > message.seq) continue;
    void c
      .users()
      .getByName(userId)
      .pushRevoke(push, message.seq, input.originSession)
      .catch((error: unknown) => console.error(`revoke push to ${userId} failed`, error));
  }
  return { ok: true, revokedTime: now };
}
