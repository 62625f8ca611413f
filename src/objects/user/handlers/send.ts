// SEND_MSG_REQ: validate, hand to the conversation's object (own-sends.ts), answer SEND_MSG_RSP (the
// SDK's ACK). A device's consecutive sends to one conversation are gathered (dispatch.ts) and stored
// with one call.
import { Cmd, Err, pb, type MessageInfo } from "../../../protocol/codec";
import { ConversationType, parseConversationId } from "../../../protocol/conversation-id";
import { MAX_CLIENT_MSG_ID_LENGTH, MAX_MESSAGE_EXTRA_BYTES } from "../../../protocol/limits";
import type { SendInput } from "../../rpc";
import {
  decodeBody,
  deviceOf,
  frameLogFields,
  reply,
  RequestError,
  requestedConversation,
  type FrameContext,
} from "../frame-context";
import { sendRefusal } from "../membership";
import { storeOwnSends } from "../own-sends";
import { richAsk, withForwardedContent, type ForwardOf } from "../rich-send";
import { declaresRich } from "../rich-updates";
import { askBeforeSend } from "../../../webhooks/before-send";
import type { Settings } from "../../../config/settings";
import { logEvent } from "../../../observability/log";
import { countMetric, Metric } from "../../../observability/metrics";

/** Message types a client may send (PROTOCOL.md, "Value sets"); 8 (notification) is the server's. */
const CLIENT_MESSAGE_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 100]);

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

/** A client's message, checked: the conversation it goes to, and that conversation object's input. */
export interface CheckedSend {
  conversationId: string;
  input: SendInput;
  /** A forward (rich messages): the message whose content the send takes, read before it goes. */
  forwardOf?: ForwardOf;
}

/**
 * Checks a client's message and turns it into the conversation object's input. `rich`: the socket
 * declared rich_messages, so the message may set fields 100+ (rich-send.ts).
 */
export function validateOutgoing(
  m: MessageInfo,
  userId: string,
  sessionId: string,
  maxContentBytes: number,
  rich = false,
): CheckedSend {
  const refuse = (code: Err, message: string): never => {
    throw new RequestError(code, message);
  };
  const clientMsgId = m.clientMsgId ?? "";
  if (clientMsgId.length === 0 || clientMsgId.length > MAX_CLIENT_MSG_ID_LENGTH) {
    refuse(Err.ERR_INVALID_PARAM, `client_msg_id must be 1-${MAX_CLIENT_MSG_ID_LENGTH} characters`);
  }
  const conversation = parseConversationId(m.conversationId ?? "");
  if (!conversation) return refuse(Err.ERR_INVALID_PARAM, "malformed conversation_id");
  if (conversation.type === ConversationType.chatroom) {
    return refuse(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversation.id} does not exist`);
  }
  if (conversation.type === ConversationType.system) {
    return refuse(Err.ERR_PERMISSION_DENIED, "only the server writes to system conversations");
  }
  if (m.senderId && m.senderId !== userId)
    refuse(Err.ERR_INVALID_PARAM, "sender_id is not the authenticated user");
  // A group's receiver is the group itself: the SDK leaves receiver_id empty, and it is not checked.
  let receiverId = "";
  if (conversation.type === ConversationType.single) {
    const [a, b] = conversation.members;
    receiverId =
      userId === a
        ? b
        : userId === b
          ? a
          : refuse(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
    if (m.receiverId && m.receiverId !== receiverId) {
      refuse(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
    }
  }
  const { rich: richSend, forwardOf } = richAsk(m, rich);
  // A forward's type, content, extra and attached info are the source's (read before it is sent).
  const messageType = forwardOf ? 0 : (m.messageType ?? 0);
  if (!forwardOf && !CLIENT_MESSAGE_TYPES.has(messageType))
    refuse(Err.ERR_INVALID_PARAM, `message_type ${messageType} is not allowed`);
  const content = forwardOf ? new Uint8Array() : (m.content ?? new Uint8Array());
  if (!forwardOf && content.byteLength === 0) refuse(Err.ERR_INVALID_PARAM, "content is empty");
  if (content.byteLength > maxContentBytes) {
    refuse(
      Err.ERR_MESSAGE_TOO_LARGE,
      `content is ${content.byteLength} bytes; the limit is ${maxContentBytes}`,
    );
  }
  const extra = forwardOf ? "" : (m.extra ?? "");
  const attachedInfo = forwardOf ? "" : (m.attachedInfo ?? "");
  if (utf8Length(extra) > MAX_MESSAGE_EXTRA_BYTES || utf8Length(attachedInfo) > MAX_MESSAGE_EXTRA_BYTES) {
    refuse(
      Err.ERR_MESSAGE_TOO_LARGE,
      `extra and attached_info are limited to ${MAX_MESSAGE_EXTRA_BYTES} bytes each`,
    );
  }
  const sendTime = Number(m.sendTime ?? 0);
  const input: SendInput = {
    senderId: userId,
    receiverId,
    clientMsgId,
    messageType,
    content,
    sendTime: Number.isSafeInteger(sendTime) && sendTime > 0 ? sendTime : Date.now(),
    extra,
    attachedInfo,
    originSession: sessionId,
  };
  if (richSend) input.rich = richSend;
  return forwardOf
    ? { conversationId: conversation.id, input, forwardOf }
    : { conversationId: conversation.id, input };
}

/** Most messages one call to a conversation object carries (a device's queued sends). */
export const MAX_SENDS_PER_CALL = 32;

/** What sending touches: the limiter and settings, membership, the conversation, the inbox's order. */
export type SendContext = FrameContext<
  "env" | "inbox" | "settings" | "sendLimiter" | "deliveryOrder" | "deviceCursors" | "conversations"
>;

/** A SEND_MSG_REQ that passed its checks, waiting to go to its conversation with its neighbours. */
export interface PreparedSend extends CheckedSend {
  fc: SendContext;
}

/** Decodes and checks one SEND_MSG_REQ and takes its token from the send limiter. */
export function prepareSend(fc: SendContext): PreparedSend {
  // The token is taken first: a malformed send costs the sender as much as a good one, since
  // sends take nothing from the socket's request budget (dispatch.ts).
  if (!fc.sendLimiter.take()) {
    throw new RequestError(
      Err.ERR_SEND_TOO_FAST,
      `sending too fast: at most ${fc.settings.sendRatePerSecond} messages a second`,
    );
  }
  const req = decodeBody(fc, pb.SendMessageRequest);
  if (!req.message) throw new RequestError(Err.ERR_INVALID_PARAM, "message is required");
  const checked = validateOutgoing(
    req.message,
    fc.state.userId,
    fc.state.sessionId,
    fc.settings.messageMaxBytes,
    declaresRich(fc.state),
  );
  return { fc, ...checked };
}

/**
 * Stores a device's consecutive sends to one conversation with one call to its object (one
 * transaction there, one fan-out) and answers each with its SEND_MSG_RSP, in order.
 */
export async function sendMessages(sends: readonly PreparedSend[]): Promise<void> {
  const [first] = sends;
  if (!first) return;
  const { conversationId } = first;
  const conversation = requestedConversation(conversationId);
  const refused = await sendRefusal(first.fc, first.fc.state.userId, conversation);
  if (refused) {
    for (const { fc, input } of sends)
      refuseSend(fc, conversationId, input.clientMsgId, refused.code, refused.message);
    return;
  }
  const { userId, sessionId } = first.fc.state;
  const filled = sends.some((s) => s.forwardOf) ? await withForwards(sends) : sends;
  const going = await screened(first.fc.settings, userId, conversationId, filled);
  const inputs = going.map((s) => s.input);
  const results = await storeOwnSends(first.fc, { userId, sessionId }, conversation, inputs);
  going.forEach(({ fc, input }, i) => {
    const result = results[i];
    if (!result?.ok) {
      const code = result?.code ?? Err.ERR_UNKNOWN;
      const reason = result?.message ?? "no answer for this message: resend it with the same client_msg_id";
      return refuseSend(fc, conversationId, input.clientMsgId, code, reason);
    }
    reply(fc, Cmd.CMD_SEND_MSG_RSP, pb.SendMessageResponse, {
      errorCode: Err.ERR_SUCCESS,
      serverMsgId: result.serverMsgId,
      clientMsgId: input.clientMsgId,
      seq: result.seq,
      serverTime: result.serverTime,
    });
    fc.deviceCursors.sent(deviceOf(fc), conversationId, result.seq);
  });
}

/** The sends with each forward's content read from its source (rich-send.ts), in parallel. */
function withForwards(sends: readonly PreparedSend[]): Promise<PreparedSend[]> {
  return Promise.all(
    sends.map(async (send) => {
      if (!send.forwardOf) return send;
      const input = await withForwardedContent(send.fc, send.input, send.forwardOf, CLIENT_MESSAGE_TYPES);
      return { ...send, input };
    }),
  );
}

/**
 * The sends the team's before-send webhook lets through (src/webhooks/before-send.ts), rewritten
 * where it said so; the ones it refused are answered here. Without the webhook, all of them.
 */
async function screened(
  settings: Settings,
  userId: string,
  conversationId: string,
  sends: readonly PreparedSend[],
): Promise<PreparedSend[]> {
  if (!settings.webhook?.beforeSend) return [...sends];
  const decisions = await askBeforeSend(
    settings,
    userId,
    conversationId,
    sends.map((s) => s.input),
  );
  return sends.map((send, i) => {
    const decision = decisions[i];
    const { input } = send;
    // A refused send still goes to the conversation, marked: a resend of one it already holds
    // (its first answer lost) gets the stored message, not the refusal.
    if (decision?.action === "refuse")
      return { ...send, input: { ...input, refused: { code: decision.code, message: decision.reason } } };
    if (decision?.action === "rewrite") {
      const refused =
        decision.content.byteLength > settings.messageMaxBytes
          ? {
              code: Err.ERR_PERMISSION_DENIED,
              message: "the content policy's rewrite is larger than a message may be",
            }
          : undefined;
      return { ...send, input: { ...input, content: decision.content, refused } };
    }
    return send;
  });
}
/** Answers one send with a refusal, logged and counted. */
function refuseSend(
  fc: SendContext,
  conversationId: string,
  clientMsgId: string,
  code: Err,
  reason: string,
): void {
  // The reason the device gets may be the webhook receiver's words: the log gets only the code.
  logEvent("info", "request_refused", { ...frameLogFields(fc), conversationId, code });
  countMetric(Metric.refusals, 1, String(code));
  reply(fc, Cmd.CMD_SEND_MSG_RSP, pb.SendMessageResponse, { errorCode: code, errorMsg: reason, clientMsgId });
}
