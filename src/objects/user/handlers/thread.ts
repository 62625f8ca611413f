// THREAD_REQ (rich messages): a message and the replies quoting it that the reader may see, oldest
// first, paged by after_seq; each with its rich fields.
import { Cmd, pb } from "../../../protocol/codec";
import { SYNC_RESPONSE_BUDGET_BYTES } from "../../../protocol/limits";
import { decodeBody, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { requestedLimit, requestedMessageId, requireMember, richRequest } from "../rich-request";
import { messageInfoFor } from "../rich-updates";

export const DEFAULT_THREAD_PAGE = 50;
export const MAX_THREAD_PAGE = 100;

export async function thread(fc: FrameContext<"env" | "inbox">): Promise<void> {
  await richRequest(fc, Cmd.CMD_THREAD_RSP, pb.ThreadResponse, async () => {
    const req = decodeBody(fc, pb.ThreadRequest);
    const conversation = requestedConversation(req.conversationId);
    const rootServerMsgId = requestedMessageId(req.rootServerMsgId);
    await requireMember(fc, conversation);
    const result = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).thread({
      userId: fc.state.userId,
      rootServerMsgId,
      afterSeq: Math.max(0, Number(req.afterSeq ?? 0)),
      limit: requestedLimit(req.limit, DEFAULT_THREAD_PAGE, MAX_THREAD_PAGE),
      maxBytes: SYNC_RESPONSE_BUDGET_BYTES,
    });
    if (!result.ok) throw new RequestError(result.code, result.message);
    return {
      root: messageInfoFor(result.root, true),
      replies: result.replies.map((m) => messageInfoFor(m, true)),
      hasMore: result.hasMore,
    };
  });
}
