// Marking a conversation read, for a READ_RECEIPT_REQ on a socket and for the HTTP "clear unread":
// the conversation object moves the member's watermark and tells the senders; here the inbox moves
// too and the user's other devices hear of it.
import { Cmd, encodeFrame, Err, pb } from "../../protocol/codec";
import { ConversationType, parseConversationId, peerOf } from "../../protocol/conversation-id";
import type { MarkReadResult } from "../rpc";
import type { UserServices } from "./frame-context";
import { memberRefusal } from "./membership";

/** What marking read touches: the conversation's object, the inbox, the user's other devices. */
export type ReadStateServices = "env" | "inbox" | "broadcast";

export async function markConversationRead(
  services: Pick<UserServices, ReadStateServices>,
  userId: string,
  conversationId: string,
  serverMsgIds: string[],
  originSession: string,
): Promise<MarkReadResult> {
  const conversation = parseConversationId(conversationId);
  if (!conversation) return { ok: false, code: Err.ERR_INVALID_PARAM, message: "malformed conversation_id" };
  const refused = await memberRefusal(services, userId, conversation);
  if (refused) {
    // One's own one-to-one or system conversation that never delivered anything: nothing to read,
    // as the conversation object would answer, without asking it.
    const own =
      conversation.type === ConversationType.single || conversation.type === ConversationType.system;
    if (!own || refused.code !== Err.ERR_CONVERSATION_NOT_EXIST) return refused;
    const peerId = peerOf(conversation, userId);
    const nothing = { readSeq: 0, advanced: false, newlyRead: [], readTime: Date.now() };
    return { ok: true, conversationType: conversation.type, peerId, ...nothing };
  }
  const result = await services.env.CONVERSATION_OBJECT.getByName(conversationId).markRead({
    userId,
    serverMsgIds,
  });
  if (!result.ok) return result;
  const moved = services.inbox.advanceRead(
    { conversationId, conversationType: result.conversationType, peerId: result.peerId },
    result.readSeq,
    result.readTime,
  );
  if (result.advanced || moved) {
    // An empty id list tells the devices "the whole conversation up to now" (PROTOCOL.md, decision 10).
    const push = {
      conversationId,
      userId,
      serverMsgIds: serverMsgIds.length > 0 ? result.newlyRead : [],
      readTime: result.readTime,
    };
    services.broadcast(encodeFrame(Cmd.CMD_READ_RECEIPT_PUSH, 0, pb.ReadReceiptPush, push), originSession);
  }
  return result;
}
