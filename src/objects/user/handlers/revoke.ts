// REVOKE_MSG_REQ: the conversation's object decides (sender within the window, or a group's owner
// or admins) and tells every member's devices.
import { Cmd, Err, pb } from "../../../protocol/codec";
import { isValidId } from "../../../protocol/conversation-id";
import { decodeBody, reply, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { memberRefusal } from "../membership";

export async function revoke(fc: FrameContext<"env" | "inbox">): Promise<void> {
  const req = decodeBody(fc, pb.RevokeMessageRequest);
  const conversation = requestedConversation(req.conversationId);
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
