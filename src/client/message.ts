// Messages between wire and app: MessageInfo → Message, OutgoingMessage → a SEND_MSG_REQ's MessageInfo.
import type { MessageInfo } from "../protocol/codec.ts";
import { ConversationType, parseConversationId, singleConversationId } from "../protocol/conversation-id.ts";
import { IMError } from "./errors.ts";
import { toReactions, toReplyRef } from "./rich-shapes.ts";
import { MessageStatus, MessageType, type Message, type OutgoingMessage } from "./types.ts";

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** A SEND_MSG_REQ's message, with the fields the outbox keys on filled in. */
export type Outgoing = MessageInfo & { clientMsgId: string; conversationId: string };

/** The one-to-one conversation id of two users (`single_<a>_<b>`, ids sorted). */
export function conversationWith(me: string, peer: string): string {
  return singleConversationId(me, peer);
}

/** A wire message as the app sees it: no nulls, numbers as numbers, the content also as text. */
export function toMessage(info: MessageInfo): Message {
  const content = info.content ?? new Uint8Array();
  return {
    serverMsgId: info.serverMsgId ?? "",
    clientMsgId: info.clientMsgId ?? "",
    conversationId: info.conversationId ?? "",
    conversationType: info.conversationType ?? 0,
    senderId: info.senderId ?? "",
    receiverId: info.receiverId ?? "",
    groupId: info.groupId ?? "",
    messageType: info.messageType ?? 0,
    content,
    text: utf8.decode(content),
    seq: Number(info.seq ?? 0),
    sendTime: Number(info.sendTime ?? 0),
    serverTime: Number(info.serverTime ?? 0),
    extra: info.extra ?? "",
    attachedInfo: info.attachedInfo ?? "",
    isRevoked: info.isRevoked ?? false,
    revokedBy: info.revokedBy ?? "",
    revokedTime: Number(info.revokedTime ?? 0),
    status: info.status ?? MessageStatus.sending,
    readCount: info.readCount ?? 0,
    replyTo: info.replyTo ? toReplyRef(info.replyTo) : null,
    mentions: [...(info.mentionUserIds ?? [])],
    mentionAll: info.mentionAll ?? false,
    forwardedFrom: info.forwardedFrom
      ? {
          senderId: info.forwardedFrom.senderId ?? "",
          serverTime: Number(info.forwardedFrom.serverTime ?? 0),
        }
      : null,
    editedTime: Number(info.editedTime ?? 0),
    editCount: info.editCount ?? 0,
    reactions: toReactions(info.reactions),
    replyCount: info.replyCount ?? 0,
    modSeq: Number(info.modSeq ?? 0),
  };
}

/** A send the server fills in (a reply's quote, a forward's content): its stored form is fetched after the ack. */
export function isFilledByServer(info: MessageInfo): boolean {
  return Boolean(info.replyTo?.serverMsgId || info.forwardOf?.serverMsgId);
}

/**
 * The MessageInfo of a SEND_MSG_REQ. The SDK never sets group_id or conversation_type (the server
 * infers them); receiver_id is the peer of a one-to-one conversation.
 */
export function toOutgoingInfo(me: string, input: OutgoingMessage): Outgoing {
  const conversationId = input.conversationId ?? (input.to ? conversationWith(me, input.to) : "");
  const parsed = parseConversationId(conversationId);
  if (!parsed) throw new IMError("invalid", 0, `not a conversation id: "${conversationId}"`);
  let receiverId = "";
  if (parsed.type === ConversationType.single) {
    const [a, b] = parsed.members;
    if (a !== me && b !== me) throw new IMError("invalid", 0, `${me} is not in ${conversationId}`);
    receiverId = a === me ? b : a;
  }
  const given = typeof input.content === "string" ? encoder.encode(input.content) : input.content;
  // A forward's content is the forwarded message's: the server copies it (docs/RICH-MESSAGES.md).
  const content = input.forwardOf ? new Uint8Array() : given;
  if (content.byteLength === 0 && !input.forwardOf) throw new IMError("invalid", 0, "content is empty");
  return {
    clientMsgId: input.clientMsgId ?? crypto.randomUUID(),
    conversationId,
    senderId: me,
    receiverId,
    messageType: input.messageType ?? MessageType.text,
    content,
    sendTime: Date.now(),
    extra: input.extra ?? "",
    attachedInfo: input.attachedInfo ?? "",
    ...richFields(input),
  };
}

/** The rich_messages fields of a send (none for a plain message: its bytes are the SDK's). */
function richFields(
  input: OutgoingMessage,
): Pick<MessageInfo, "replyTo" | "mentionUserIds" | "mentionAll" | "forwardOf"> {
  const fields: Pick<MessageInfo, "replyTo" | "mentionUserIds" | "mentionAll" | "forwardOf"> = {};
  if (input.replyTo) fields.replyTo = { serverMsgId: input.replyTo };
  if (input.mentions && input.mentions.length > 0) fields.mentionUserIds = [...new Set(input.mentions)];
  if (input.mentionAll) fields.mentionAll = true;
  if (input.forwardOf) {
    const { conversationId, serverMsgId } = input.forwardOf;
    if (!conversationId || !serverMsgId)
      throw new IMError("invalid", 0, "forwardOf needs a conversationId and a serverMsgId");
    fields.forwardOf = { conversationId, serverMsgId };
  }
  return fields;
}

/** The full message of one of this client's sends, once its ack gave it an id, a seq and a time. */
export function ackedMessage(
  sent: MessageInfo,
  ack: { serverMsgId: string; seq: number; serverTime: number },
): Message {
  const conversationType = parseConversationId(sent.conversationId ?? "")?.type ?? 0;
  return toMessage({
    ...sent,
    ...ack,
    conversationType,
    groupId: groupIdOf(sent.conversationId ?? ""),
    status: MessageStatus.sent,
  });
}

function groupIdOf(conversationId: string): string {
  const parsed = parseConversationId(conversationId);
  return parsed?.type === ConversationType.group ? parsed.groupId : "";
}
