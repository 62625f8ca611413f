// PIN_REQ (rich messages): pin or unpin a message; the conversation's object checks the role and
// tells every member's rich devices the whole list (PINS_PUSH).
import { Cmd, pb } from "../../../protocol/codec";
import { decodeBody, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { requestedMessageId, requireMember, changeRequest } from "../rich-request";

export async function pin(fc: FrameContext<"env" | "inbox" | "changeLimiter">): Promise<void> {
  await changeRequest(fc, Cmd.CMD_PIN_RSP, pb.PinResponse, async () => {
    const req = decodeBody(fc, pb.PinRequest);
    const conversation = requestedConversation(req.conversationId);
    const serverMsgId = requestedMessageId(req.serverMsgId);
    await requireMember(fc, conversation);
    const result = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).pin({
      userId: fc.state.userId,
      serverMsgId,
      unpin: req.unpin === true,
      originSession: fc.state.sessionId,
    });
    if (!result.ok) throw new RequestError(result.code, result.message);
    return { pins: result.pins, modSeq: result.modSeq };
  });
}
