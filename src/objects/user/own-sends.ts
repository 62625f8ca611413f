// The sender's side of a send, end to end: from the call to the conversation's object until the
// sender's own inbox (and the user's other devices) holds what it stored.
//
// The conversation does not call the sender's object back with the sender's own new messages: when
// the sender's fan-out pump is idle and its watermark is just below them, it moves the watermark
// and says so in its answer (`handedBack`, conversation/fanout.ts handBack). This object then builds
// the messages itself from what the device sent and what the answer assigned, with the builders the
// conversation stored them with (message.ts), so the copy is the stored message by construction,
// and puts them into the inbox in their turn (delivery-order.ts) before the device hears its answer.
// A resend answered "already stored" may be the one whose first answer was lost after the hand-back:
// the inbox must hold it too, so what it misses is read from the conversation.
import { Err } from "../../protocol/codec";
import type { ParsedConversation } from "../../protocol/conversation-id";
import { identityOf, newMessageFromSend, storedMessage, toDelivered } from "../message";
import type { Delivery, SendInput, SendOutcome, SendResult } from "../rpc";
import type { UserServices } from "./frame-context";
import { logEvent } from "../../observability/log";

/** The device the sends came from. */
export interface Sender {
  userId: string;
  /** The socket's session: that device gets its SEND_MSG_RSPs, not pushes of its own messages. */
  sessionId: string;
}

/**
 * Stores a device's sends to one conversation with one call to its object and answers each: its
 * seq and id, or why not. Never throws: a call that fails answers each send with ERR_UNKNOWN (the
 * device resends with the same client_msg_id, which dedup makes safe).
 */
export async function storeOwnSends(
  services: Pick<UserServices, "conversations" | "deliveryOrder">,
  sender: Sender,
  conversation: ParsedConversation,
  sends: readonly SendInput[],
): Promise<SendResult[]> {
  const order = services.deliveryOrder;
  let results: SendResult[] = [];
  let handedBack: SendOutcome["handedBack"] = null;
  order.sendStarted(conversation.id);
  try {
    const send = () => services.conversations.call(conversation.id, (stub) => stub.send(sends));
    ({ results, handedBack } = await send().catch((error: unknown) => {
      // The conversation's object was reset while the call ran (a deploy, an eviction): once more,
      // through a new stub (object-ids.ts). Safe to repeat: what the first call stored answers as a resend.
      // Not when the object says it is overloaded: Cloudflare asks callers not to add to that.
      if (isOverloaded(error)) throw error;
      logEvent("warn", "send_repeated", { conversationId: conversation.id }, error);
      return send();
    }));
  } catch (error) {
    logEvent("error", "send_failed", { conversationId: conversation.id }, error);
    const unknown: SendResult = {
      ok: false,
      code: Err.ERR_UNKNOWN,
      message: "the message may not have been stored: resend it with the same client_msg_id",
    };
    results = sends.map(() => unknown);
  } finally {
    // Into the inbox (and to the user's other devices) before the device hears its answers.
    order.sendFinished(
      conversation.id,
      handedBack && ownCopy(sender.userId, conversation, sends, results, handedBack.visibleFrom),
    );
  }
  const resent = new Set(results.flatMap((r) => (r.ok && r.duplicate ? [r.seq] : [])));
  if (resent.size > 0) {
    const recipient = {
      recipientId: sender.userId,
      conversationId: conversation.id,
      conversationType: conversation.type,
    };
    await order
      .ensureHeld(recipient, { seqs: resent, originSession: sender.sessionId })
      .catch((error: unknown) =>
        logEvent("error", "own_resend_not_applied", { conversationId: conversation.id }, error),
      );
  }
  return results;
}

/** Whether the runtime refused a call because the object is overloaded (error.overloaded). */
function isOverloaded(error: unknown): boolean {
  return (
    typeof error === "object" && error !== null && (error as { overloaded?: unknown }).overloaded === true
  );
}

/** The sender's new messages as a delivery to its own inbox, rebuilt from the sends and answers. */
function ownCopy(
  userId: string,
  conversation: ParsedConversation,
  sends: readonly SendInput[],
  results: readonly SendResult[],
  visibleFrom: number,
): Delivery {
  const id = identityOf(conversation);
  const messages = sends.flatMap((input, i) => {
    const result = results[i];
    if (!result?.ok || result.duplicate) return [];
    const message = newMessageFromSend(input, result.serverMsgId, result.serverTime, result.ext);
    return [toDelivered(storedMessage(message, result.seq, id))];
  });
  return {
    recipientId: userId,
    conversationId: conversation.id,
    conversationType: conversation.type,
    visibleFrom,
    messages,
  };
}
