// EDIT_MSG_REQ (rich messages): replace the content of one's own text message; the conversation's
// object checks the window and keeps the earlier content (EDIT_HISTORY_REQ).
import { Cmd, Err, pb } from "../../../protocol/codec";
import { decodeBody, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { requestedMessageId, requireMember, changeRequest } from "../rich-request";

export async function editMsg(
  fc: FrameContext<"env" | "inbox" | "settings" | "changeLimiter">,
): Promise<void> {
  await changeRequest(fc, Cmd.CMD_EDIT_MSG_RSP, pb.EditMessageResponse, async () => {
    const req = decodeBody(fc, pb.EditMessageRequest);
    const conversation = requestedConversation(req.conversationId);
    const serverMsgId = requestedMessageId(req.serverMsgId);
    const content = req.content ?? new Uint8Array();
    if (content.byteLength === 0) throw new RequestError(Err.ERR_INVALID_PARAM, "content is empty");
    const max = fc.settings.messageMaxBytes;
    if (content.byteLength > max)
      throw new RequestError(
        Err.ERR_MESSAGE_TOO_LARGE,
        `content is ${content.byteLength} bytes; the limit is ${max}`,
      );
    await requireMember(fc, conversation);
    const result = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).edit({
      userId: fc.state.userId,
      serverMsgId,
      content,
      originSession: fc.state.sessionId,
    });
    if (!result.ok) throw new RequestError(result.code, result.message);
    return { editedTime: result.editedTime, editCount: result.editCount, modSeq: result.modSeq };
  });
}
