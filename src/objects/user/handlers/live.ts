// TYPING_STATUS_REQ (relayed, never stored, throttled) and ONLINE_STATUS_REQ (presence look-up).
import { PresenceVisibleTo } from "../../../auth/config";
import { database } from "../../../db/client";
import { friendIds, typingPeer } from "../../../db/social";
import { existingUserIds } from "../../../db/users";
import { Cmd, Err, pb } from "../../../protocol/codec";
import { ConversationType, isValidId, parseConversationId } from "../../../protocol/conversation-id";
import type { Presence } from "../../rpc";
import { decodeBody, notice, reply, RequestError, type FrameContext } from "../frame-context";
import { memberRefusal } from "../membership";

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
  const [a, b] = conversation.members;
  if (me !== a && me !== b) return notice(fc, Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  // Over the limit a typing status is dropped silently: it is only ever a hint. One-to-one typing
  // goes straight to the peer's object, without the conversation's.
  if (!fc.typingLimiter.take()) return;
  const peer = me === a ? b : a;
  // Only to a user who exists (no object is made for any other id), and not to one who blocked
  // the typist: that status is dropped, as their messages are refused.
  const reach = await typingPeer(database(fc.env), peer, me);
  if (reach === "unknown") return notice(fc, Err.ERR_USER_NOT_EXIST, "receiver does not exist");
  if (reach === "blocked") return;
  const push = { conversationId: conversation.id, userId: me, status };
  void fc.env.USER_OBJECT.getByName(peer)
    .pushTyping(push)
    .catch((error: unknown) => console.warn(`typing push to ${peer} failed`, error));
}

/** What a user whose presence the asker may not see looks like: offline, never seen. */
const hidden = (userId: string): Presence => ({ userId, online: false, platforms: [], lastSeen: 0 });

/**
 * Presence of the users asked about. Only users the asker may see (their friends and themselves,
 * or every existing user under PRESENCE_VISIBLE_TO = everyone) are asked, each in their own object;
 * anyone else gets `hidden`, which is also what an unknown id gets, so the answer tells nothing,
 * not even whether the id exists, and no object is woken or made for it.
 */
export async function onlineStatus(fc: FrameContext): Promise<void> {
  const req = decodeBody(fc, pb.OnlineStatusRequest);
  const ids = [...new Set(req.userIds ?? [])];
  if (ids.length > MAX_STATUS_USERS)
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${MAX_STATUS_USERS} user_ids`);
  if (!ids.every(isValidId)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed user_id");
  const me = fc.state.userId;
  const db = database(fc.env);
  const visible =
    fc.settings.presenceVisibleTo === PresenceVisibleTo.everyone
      ? await existingUserIds(db, ids)
      : new Set([...(await friendIds(db, me)), me]);
  const statuses: Presence[] = await Promise.all(
    ids.map((id) => (visible.has(id) ? fc.env.USER_OBJECT.getByName(id).presence(id) : hidden(id))),
  );
  reply(fc, Cmd.CMD_ONLINE_STATUS_RSP, pb.OnlineStatusResponse, { errorCode: Err.ERR_SUCCESS, statuses });
}
