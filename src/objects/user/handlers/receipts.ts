// READ_RECEIPT_REQ and REVOKE_MSG_REQ: both change a message's state in its conversation object.
import { Cmd, Err, pb } from "../../../protocol/codec";
import { isValidId, parseConversationId, type ParsedConversation } from "../../../protocol/conversation-id";
import { decodeBody, reply, RequestError, type FrameContext } from "../frame-context";
import { memberRefusal } from "../membership";
import { markConversationRead } from "../read-state";

/** Most ids one read receipt may name. */
export const MAX_RECEIPT_IDS = 500;

function conversationOf(conversationId: string | null | undefined): ParsedConversation {
  const conversation = parseConversationId(conversationId ?? "");
  if (!conversation) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed conversation_id");
  return conversation;
}

export async function readReceipt(fc: FrameContext): Promise<void> {
  const req = decodeBody(fc, pb.ReadReceiptRequest);
  const conversationId = conversationOf(req.conversationId).id;
  const ids = req.serverMsgIds ?? [];
  if (ids.length > MAX_RECEIPT_IDS)
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${MAX_RECEIPT_IDS} server_msg_ids`);
  if (!ids.every(isValidId)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed server_msg_id");
  const result = await markConversationRead(fc, fc.state.userId, conversationId, ids, fc.state.sessionId);
  if (!result.ok) throw new RequestError(result.code, result.message);
  reply(fc, Cmd.CMD_READ_RECEIPT_RSP, pb.ReadReceiptResponse, { errorCode: Err.ERR_SUCCESS });
}

export async function revokeMessage(fc: FrameContext): Promise<void> {
  const req = decodeBody(fc, pb.RevokeMessageRequest);
  const conversation = conversationOf(req.conversationId);
  const conversationId = conversation.id;
  if (!isValidId(req.serverMsgId ?? ""))
    throw new RequestError(Err.ERR_INVALID_PARAM, "malformed server_msg_id");
  const refused = await memberRefusal(fc, fc.state.userId, conversation);
  if (refused) throw new RequestError(refused.code, refused.message);
  const result = await fc.env.CONVERSATION_OBJECT.getByName(conversationId).revoke({
    userId: fc.state.userId,
    serverMsgId: req.serverMsgId ?? "",
    originSession: fc.state.sessionId,
  });
  if (!result.ok) throw new RequestError(result.code, result.message);
  reply(fc, Cmd.CMD_REVOKE_MSG_RSP, pb.RevokeMessageResponse, { errorCode: Err.ERR_SUCCESS });
}
