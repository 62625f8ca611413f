// CHANGES_REQ (rich messages): what changed in a conversation after the client's last change number
// (BATCH_SYNC's mod_seq says when to ask): the changed messages' current state and the pinned list.
import { Cmd, pb } from "../../../protocol/codec";
import { SYNC_RESPONSE_BUDGET_BYTES } from "../../../protocol/limits";
import { decodeBody, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { requestedLimit, requireMember, richRequest } from "../rich-request";
import { messageInfoFor } from "../rich-updates";

export const DEFAULT_CHANGES_PAGE = 100;
export const MAX_CHANGES_PAGE = 200;

export async function changes(fc: FrameContext<"env" | "inbox">): Promise<void> {
  await richRequest(fc, Cmd.CMD_CHANGES_RSP, pb.ChangesResponse, async () => {
    const req = decodeBody(fc, pb.ChangesRequest);
    const conversation = requestedConversation(req.conversationId);
    await requireMember(fc, conversation);
    const result = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).changes({
      userId: fc.state.userId,
      afterModSeq: Math.max(0, Number(req.afterModSeq ?? 0)),
      limit: requestedLimit(req.limit, DEFAULT_CHANGES_PAGE, MAX_CHANGES_PAGE),
      maxBytes: SYNC_RESPONSE_BUDGET_BYTES,
      pinsOnly: req.pinsOnly === true,
    });
    if (!result.ok) throw new RequestError(result.code, result.message);
    return {
      conversationId: conversation.id,
      messages: result.messages.map((m) => messageInfoFor(m, true)),
      pinsChanged: result.pinsChanged,
      pins: result.pins,
      modSeq: result.modSeq,
      hasMore: result.hasMore,
    };
  });
}
