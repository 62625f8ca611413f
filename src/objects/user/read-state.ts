// Marking a conversation read, for a READ_RECEIPT_REQ on a socket and for the HTTP "clear unread":
// the conversation object moves the member's watermark and tells the senders; here the inbox moves
// too and the user's other devices hear of it.
import { Cmd, encodeFrame, pb } from "../../protocol/codec";
import type { MarkReadResult } from "../rpc";
import type { UserServices } from "./frame-context";

export async function markConversationRead(
  services: UserServices,
  userId: string,
  conversationId: string,
  serverMsgIds: string[],
  originSession: string,
): Promise<MarkReadResult> {
  const result = await services.env.CONVERSATION_OBJECT.getByName(conversationId).markRead({
    conversationId,
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
