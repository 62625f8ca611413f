// TYPING_STATUS_REQ (relayed, never stored, throttled) and ONLINE_STATUS_REQ (presence look-up).
import { Cmd, Err, pb } from "../../../protocol/codec";
import { ConversationType, isValidId, parseConversationId } from "../../../protocol/conversation-id";
import type { Presence } from "../../rpc";
import { decodeBody, notice, reply, RequestError, type FrameContext } from "../frame-context";

/** Most users one ONLINE_STATUS_REQ may ask about. */
export const MAX_STATUS_USERS = 200;

export async function typing(fc: FrameContext): Promise<void> {
  const req = decodeBody(fc, pb.TypingStatusRequest);
  const conversation = parseConversationId(req.conversationId ?? "");
  if (!conversation) return notice(fc, Err.ERR_INVALID_PARAM, "malformed conversation_id");
  const me = fc.state.userId;
  const status = req.status === 1 ? 1 : 0;
  if (conversation.type === ConversationType.group) {
    if (!fc.typingLimiter.take()) return;
    const refusal = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).typing(
      conversation.id,
      me,
      status,
    );
    if (refusal) notice(fc, refusal.code, refusal.message);
    return;
  }
  if (conversation.type !== ConversationType.single) {
    return notice(fc, Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversation.id} does not exist`);
  }
  const [a, b] = conversation.members;
  if (me !== a && me !== b) return notice(fc, Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  // Over the limit a typing status is dropped silently: it is only ever a hint. One-to-one typing
  // goes straight to the peer's object, without the conversation's.
  if (!fc.typingLimiter.take()) return;
  const peer = me === a ? b : a;
  const push = { conversationId: conversation.id, userId: me, status };
  void fc.env.USER_OBJECT.getByName(peer)
    .pushTyping(push)
    .catch((error: unknown) => console.warn(`typing push to ${peer} failed`, error));
}

export async function onlineStatus(fc: FrameContext): Promise<void> {
  const req = decodeBody(fc, pb.OnlineStatusRequest);
  const ids = [...new Set(req.userIds ?? [])];
  if (ids.length > MAX_STATUS_USERS)
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${MAX_STATUS_USERS} user_ids`);
  if (!ids.every(isValidId)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed user_id");
  const statuses: Presence[] = await Promise.all(
    ids.map((id) => fc.env.USER_OBJECT.getByName(id).presence(id)),
  );
  reply(fc, Cmd.CMD_ONLINE_STATUS_RSP, pb.OnlineStatusResponse, { errorCode: Err.ERR_SUCCESS, statuses });
}
