// READ_RECEIPT_REQ: the conversation's read watermark moves (read-state.ts); the senders and the
// user's other devices hear of it.
import { Cmd, Err, pb } from "../../../protocol/codec";
import { isValidId } from "../../../protocol/conversation-id";
import { decodeBody, reply, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { markConversationRead, type ReadStateServices } from "../read-state";

/** Most ids one READ_RECEIPT_REQ may name (a receipt push names fewer: the conversation's bound). */
export const READ_RECEIPT_REQUEST_MAX_IDS = 500;

export async function readReceipt(fc: FrameContext<ReadStateServices>): Promise<void> {
  const req = decodeBody(fc, pb.ReadReceiptRequest);
  const conversationId = requestedConversation(req.conversationId).id;
  const ids = req.serverMsgIds ?? [];
  if (ids.length > READ_RECEIPT_REQUEST_MAX_IDS)
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${READ_RECEIPT_REQUEST_MAX_IDS} server_msg_ids`);
  if (!ids.every(isValidId)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed server_msg_id");
  const result = await markConversationRead(fc, fc.state.userId, conversationId, ids, fc.state.sessionId);
  if (!result.ok) throw new RequestError(result.code, result.message);
  reply(fc, Cmd.CMD_READ_RECEIPT_RSP, pb.ReadReceiptResponse, { errorCode: Err.ERR_SUCCESS });
}
