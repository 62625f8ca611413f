// Storing one sender's messages, once the sender may send (conversation-access.ts): each takes the
// next seq, or answers with its earlier copy's when it is a resend, all in one transaction; then
// the members' pumps are kicked and the copy to D1 started. The sender's own object may take its new
// messages from the answer instead of a delivery (fanout.ts, handBack).
import { Err } from "../../protocol/codec";
import { peerOf } from "../../protocol/conversation-id";
import { newMessageFromSend, type StoredMessage } from "../message";
import { decodeRich } from "../rich-fields";
import { newMessageId } from "../message-ids";
import { refusal, type SendInput, type SendOutcome, type SendResult } from "../rpc";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { changeMessage, pushChanges, type Changed } from "./rich-changes";
import { richExt } from "./rich-send";
import { conversationKind, countMetric, Metric } from "../../observability/metrics";

export async function storeSends(
  c: Pick<ConversationContext, "changePump" | "fanout" | "history" | "members" | "messages" | "rich">,
  { conversation, id }: Named,
  sender: string,
  inputs: readonly SendInput[],
): Promise<SendOutcome> {
  const peer = peerOf(conversation, sender);
  const answers: SendResult[] = [];
  const toStore: { index: number; input: SendInput; ext?: Uint8Array }[] = [];
  inputs.forEach((input, index) => {
    if (input.senderId !== sender) {
      answers[index] = refusal(Err.ERR_INVALID_PARAM, "one call carries one sender's messages");
    } else if (input.receiverId !== peer) {
      answers[index] = refusal(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
    } else if (input.refused) {
      const stored = c.messages.findByClientMsgId(sender, input.clientMsgId, id);
      answers[index] = stored
        ? acceptedResult(stored, true)
        : refusal(input.refused.code, input.refused.message);
    } else if (input.rich) {
      // A resend answers the stored message whatever changed since (its quote revoked, say).
      const stored = c.messages.findByClientMsgId(sender, input.clientMsgId, id);
      const checked = stored ? null : richExt(c, conversation, id, sender, input.rich);
      if (stored) answers[index] = acceptedResult(stored, true);
      else if (checked && "ok" in checked) answers[index] = checked;
      else toStore.push({ index, input, ext: checked?.ext });
    } else toStore.push({ index, input });
  });
  const now = Date.now();
  // Built as the sender's object rebuilds its own copy (message.ts): receiver_id is `peer`, checked
  // above to be what the sender sent.
  const quotedChanges: Changed[] = [];
  const stored = c.messages.appendMany(
    toStore.map(({ input, ext }) => newMessageFromSend(input, newMessageId(), now, ext)),
    id,
    // A new reply counts on the message it quotes, in the same transaction (a change of that message).
    (appended) => {
      for (const { message, duplicate } of appended) {
        const quotedSeq = !duplicate && message.ext ? Number(decodeRich(message.ext).replyTo?.seq ?? 0) : 0;
        const quoted = quotedSeq > 0 ? c.messages.range(quotedSeq, quotedSeq, 1, id)[0] : undefined;
        if (!quoted) continue;
        quotedChanges.push(
          changeMessage(c, quoted, (fields) => {
            fields.replyCount = (fields.replyCount ?? 0) + 1;
          }),
        );
      }
    },
  );
  toStore.forEach(({ index }, i) => {
    const { message, duplicate } = stored[i] as (typeof stored)[number];
    answers[index] = acceptedResult(message, duplicate);
  });
  const fresh = stored.filter((s) => !s.duplicate).map((s) => s.message);
  // Several replies to one message in a batch: each member needs only its last state.
  pushChanges(c, id, lastOfEach(quotedChanges), "");
  countMetric(Metric.messagesSent, fresh.length, conversationKind(conversation.type));
  const [oldest] = fresh;
  const newest = fresh[fresh.length - 1];
  if (!oldest || !newest) return { results: answers, handedBack: null };
  // The sender's object gets its own new messages with this answer, one call fewer, when it can
  // take them in order; otherwise its fan-out pump brings them like anyone else's.
  const handedBack = c.fanout.handBack(sender, oldest.seq, newest.seq);
  c.fanout.kickActive(id, handedBack ? sender : null);
  await c.history.afterSend(id);
  return {
    results: answers,
    handedBack: handedBack ? { visibleFrom: c.members.get(sender)?.firstSeq ?? 1 } : null,
  };
}

function acceptedResult(message: StoredMessage, duplicate: boolean): SendResult {
  const result: SendResult = {
    ok: true,
    serverMsgId: message.serverMsgId,
    seq: message.seq,
    serverTime: message.serverTime,
    duplicate,
  };
  // The sender's object rebuilds its own copy with these (user/own-sends.ts).
  if (message.ext) result.ext = message.ext;
  return result;
}

function lastOfEach(changes: readonly Changed[]): Changed[] {
  return [...new Map(changes.map((change) => [change.message.seq, change])).values()];
}
