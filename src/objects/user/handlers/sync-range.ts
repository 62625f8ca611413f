// SYNC_RANGE_REQ: a range of one conversation, the SDK's gap fill; cut to one frame, with has_more
// when it goes on.
import { Cmd, Err, pb, type MessageInfo } from "../../../protocol/codec";
import { SYNC_RESPONSE_BUDGET_BYTES } from "../../../protocol/limits";
import { decodeBody, reply, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { memberRefusal } from "../membership";
import { declaresRich, messageInfoFor } from "../rich-updates";
import { clampCount, fitPrefix, readConversation } from "../sync-pages";
import { countMetric, Metric } from "../../../observability/metrics";

export async function syncRange(fc: FrameContext<"env" | "inbox" | "deliveredMarks">): Promise<void> {
  const req = decodeBody(fc, pb.SyncRangeRequest);
  const conversation = requestedConversation(req.conversationId);
  const startSeq = Math.max(1, Number(req.startSeq ?? 0));
  const endSeq = Number(req.endSeq ?? 0);
  if (endSeq < 0 || (endSeq > 0 && endSeq < startSeq)) {
    throw new RequestError(Err.ERR_INVALID_PARAM, "end_seq must be 0 (newest) or at least start_seq");
  }
  const limit = clampCount(req.count);
  const refused = await memberRefusal(fc, fc.state.userId, conversation);
  if (refused) throw new RequestError(refused.code, refused.message);
  // One more than asked tells whether the range goes on past this page.
  const read = await readConversation(fc.env, conversation.id, {
    userId: fc.state.userId,
    fromSeq: startSeq,
    toSeq: endSeq,
    limit: limit + 1,
    newest: false,
    maxBytes: SYNC_RESPONSE_BUDGET_BYTES,
  });
  if (!read.ok) throw new RequestError(read.code, read.message);
  const page = read.messages.slice(0, limit);
  const rich = declaresRich(fc.state);
  const { kept } = fitPrefix(page, SYNC_RESPONSE_BUDGET_BYTES);
  const last = kept[kept.length - 1];
  const requestedEnd = endSeq > 0 ? Math.min(endSeq, read.maxSeq) : read.maxSeq;
  // Cut here, or already by the conversation's byte bound: seqs are gapless, so the range goes on
  // whenever the last message given is short of its end.
  const cut = kept.length < read.messages.length || (last !== undefined && last.seq < requestedEnd);
  // A sync answer is a delivery: marked up to what the device was given, not what was read.
  if (last) fc.deliveredMarks.mark(conversation.id, last.seq);
  const messages: MessageInfo[] = kept.map((m) => messageInfoFor(m, rich));
  countMetric(Metric.syncMessages, 1, "sync_range", kept.length);
  reply(fc, Cmd.CMD_SYNC_RANGE_RSP, pb.SyncRangeResponse, {
    errorCode: Err.ERR_SUCCESS,
    requestId: req.requestId,
    conversationId: conversation.id,
    messages,
    startSeq,
    endSeq: cut && last ? last.seq : requestedEnd,
    hasMore: cut,
  });
}
