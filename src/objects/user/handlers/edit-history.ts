// EDIT_HISTORY_REQ (rich messages): a message's earlier contents, oldest first, the newest before
// before_version that fit one frame (has_more: older ones are left).
import { Cmd, pb } from "../../../protocol/codec";
import { SYNC_RESPONSE_BUDGET_BYTES } from "../../../protocol/limits";
import { decodeBody, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { requestedMessageId, requireMember, richRequest } from "../rich-request";

export async function editHistory(fc: FrameContext<"env" | "inbox">): Promise<void> {
  await richRequest(fc, Cmd.CMD_EDIT_HISTORY_RSP, pb.EditHistoryResponse, async () => {
    const req = decodeBody(fc, pb.EditHistoryRequest);
    const conversation = requestedConversation(req.conversationId);
    const serverMsgId = requestedMessageId(req.serverMsgId);
    await requireMember(fc, conversation);
    const result = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).editHistory({
      userId: fc.state.userId,
      serverMsgId,
      beforeVersion: Math.max(0, req.beforeVersion ?? 0),
      maxBytes: SYNC_RESPONSE_BUDGET_BYTES,
    });
    if (!result.ok) throw new RequestError(result.code, result.message);
    return { versions: result.versions, hasMore: result.hasMore };
  });
}
