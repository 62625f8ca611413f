// TYPING_STATUS_REQ: relayed to the conversation's other members, never stored, throttled.
import { database } from "../../../db/client";
import { typingPeer } from "../../../db/social";
import { Err, pb } from "../../../protocol/codec";
import { ConversationType, parseConversationId, peerOf } from "../../../protocol/conversation-id";
import { decodeBody, notice, type FrameContext } from "../frame-context";
import { memberRefusal } from "../membership";
import { logEvent } from "../../../observability/log";

export async function typing(fc: FrameContext<"env" | "inbox" | "typingLimiter">): Promise<void> {
  const req = decodeBody(fc, pb.TypingStatusRequest);
  const conversation = parseConversationId(req.conversationId ?? "");
  if (!conversation) return notice(fc, Err.ERR_INVALID_PARAM, "malformed conversation_id");
  const me = fc.state.userId;
  const status = req.status === 1 ? 1 : 0;
  if (conversation.type === ConversationType.group) {
    if (!fc.typingLimiter.take()) return;
    // A group the user is not in is refused here, without waking (or creating) its object.
    const refused = await memberRefusal(fc, me, conversation);
    if (refused) return notice(fc, refused.code, refused.message);
    const refusal = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).typing(me, status);
    if (refusal) notice(fc, refusal.code, refusal.message);
    return;
  }
  if (conversation.type !== ConversationType.single) {
    return notice(fc, Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversation.id} does not exist`);
  }
  const peer = peerOf(conversation, me);
  if (!peer) return notice(fc, Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  // Over the limit a typing status is dropped silently: it is only ever a hint. One-to-one typing
  // goes straight to the peer's object, without the conversation's.
  if (!fc.typingLimiter.take()) return;
  // Only to a user who exists (no object is made for any other id), and not to one who blocked
  // the typist: that status is dropped, as their messages are refused.
  const reach = await typingPeer(database(fc.env), peer, me);
  if (reach === "unknown") return notice(fc, Err.ERR_USER_NOT_EXIST, "receiver does not exist");
  if (reach === "blocked") return;
  const push = { conversationId: conversation.id, userId: me, status };
  void fc.env.USER_OBJECT.getByName(peer)
    .pushTyping(push)
    .catch((error: unknown) => logEvent("warn", "typing_push_failed", { userId: peer }, error));
}
