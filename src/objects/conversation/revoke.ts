// Revoking a message: its sender within REVOKE_WINDOW_MS, a group's owner or admins at any time,
// the admin API (adminRevoke) any message at any time. The row keeps its seq, loses its content
// and is queued for D1 again in one transaction; every member who had the message is told (one
// who joined after it never had it).
import { Err } from "../../protocol/codec";
import { ConversationType } from "../../protocol/conversation-id";
import { ADMIN_ACTOR } from "../admin-actor";
import type { Identity, StoredMessage } from "../message";
import {
  refusal,
  type AdminRevokeResult,
  type AdminRevokeTarget,
  type RevokeInput,
  type RevokeResult,
} from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor } from "./conversation-access";
import type { Named } from "./identity";
import { Role } from "./member-store";
import { rewriteQuotes } from "./quotes";
import { inChangeTransaction, changeMessage, pushChanges, pushPinned } from "./rich-changes";
import { logEvent } from "../../observability/log";

/** A sender may revoke a message this long after its server_time (PROTOCOL.md, "Revoke"). */
export const REVOKE_WINDOW_MS = 2 * 60 * 1000;

type RevokeContext = Pick<
  ConversationContext,
  "changePump" | "history" | "members" | "messages" | "now" | "outbox" | "rich" | "storage" | "users"
>;

/** A member's REVOKE_MSG_REQ: the sender within the window, or a group's owner or admins. */
export async function revoke(
  c: RevokeContext,
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
  await applyRevoke(c, id, message, input.userId, now, input.originSession);
  return { ok: true, revokedTime: now };
}

/**
 * The admin API's removal: any message, named by seq or server_msg_id, with no sender, role or
 * time check; every member's devices see it revoked by ADMIN_ACTOR.
 */
export async function adminRevoke(
  c: RevokeContext,
  { id }: Named,
  target: AdminRevokeTarget,
): Promise<AdminRevokeResult> {
  const message =
    "seq" in target
      ? (c.messages.range(target.seq, target.seq, 1, id)[0] ?? null)
      : c.messages.findByServerMsgId(target.serverMsgId, id);
  if (!message) return { ok: false, status: 404, message: "no such message in this conversation" };
  if (message.isRevoked) return { ok: false, status: 409, message: "message already revoked" };
  const now = c.now();
  await applyRevoke(c, id, message, ADMIN_ACTOR, now, "");
  return { ok: true, seq: message.seq, serverMsgId: message.serverMsgId, revokedTime: now };
}

/**
 * Empties the message and queues it for D1 in one transaction, then tells every member who had
 * it (all their devices but `originSession`, the one that asked). Rich messages: the revoke is a
 * change of the message (its earlier contents are dropped too), every reply quoting it loses its
 * snippet and shows it revoked (a change each), and a pinned message is unpinned.
 */
async function applyRevoke(
  c: RevokeContext,
  id: Identity,
  message: StoredMessage,
  revokedBy: string,
  now: number,
  originSession: string,
): Promise<void> {
  const { modSeq, quotes, pinsModSeq } = inChangeTransaction(c, () => {
    c.messages.revoke(message.seq, revokedBy, now);
    c.outbox.requeue(message.seq);
    c.rich.forgetEdits(message.seq);
    const revoked = { ...message, content: new Uint8Array(), isRevoked: true, revokedBy, revokedTime: now };
    const { modSeq } = changeMessage(c, revoked, () => {});
    const quotes = rewriteQuotes(c, id, message.seq, (quote) => ({ ...quote, snippet: "", revoked: true }));
    const pinsModSeq = c.rich.isPinned(message.seq) ? c.rich.setPinned(message.seq, null) : 0;
    return { modSeq, quotes, pinsModSeq };
  });
  await c.history.afterSend(id);
  const push = {
    conversationId: id.conversationId,
    serverMsgId: message.serverMsgId,
    revokedBy,
    revokedTime: now,
  };
  for (const userId of c.members.activeIds()) {
    // A member who joined after the message never had it: nothing to revoke there.
    if ((c.members.get(userId)?.firstSeq ?? 1) > message.seq) continue;
    void c
      .users()
      .getByName(userId)
      // The change number too: a rich device that was away learns of the revoke from BATCH_SYNC.
      .pushRevoke(push, message.seq, originSession, modSeq)
      .catch((error: unknown) =>
        logEvent("error", "revoke_push_failed", { userId, conversationId: id.conversationId }, error),
      );
  }
  // The revoke is a change too: the change pumps bring it to rich devices (retried, unlike the push
  // above), the quotes' changes with it, at most CHANGE_BATCH a call (change-pump.ts). The quotes'
  // devices know of the revoke from its own push: the quotes' changes go to all devices.
  c.changePump.changed(id, [modSeq], originSession);
  pushChanges(c, id, quotes, "");
  if (pinsModSeq > 0) pushPinned(c, id, pinsModSeq, "");
}
