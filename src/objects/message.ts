// A stored message as the objects pass it to each other over RPC, how a new one is built, and its
// wire form (MessageInfo).
import { pb, type MessageInfo } from "../protocol/codec";
import { ConversationType, type ParsedConversation } from "../protocol/conversation-id";

export interface StoredMessage {
  seq: number;
  serverMsgId: string;
  clientMsgId: string;
  conversationId: string;
  conversationType: number;
  senderId: string;
  receiverId: string;
  groupId: string;
  messageType: number;
  content: Uint8Array;
  sendTime: number;
  serverTime: number;
  extra: string;
  attachedInfo: string;
  /** The socket session that sent it: that device gets the SEND_MSG_RSP, not a push. */
  originSession: string;
  isRevoked: boolean;
  revokedBy: string;
  revokedTime: number;
  /** As seen by the reader it was read for (ConversationObject.read); `sent` elsewhere. */
  status?: number;
  /** For the reader's own messages in a group: who read it (small groups) and how many. */
  readBy?: string[];
  readCount?: number;
}

/** What every stored message carries of its conversation. */
export type Identity = Pick<StoredMessage, "conversationId" | "conversationType" | "groupId">;

export function identityOf(conversation: ParsedConversation): Identity {
  const groupId = conversation.type === ConversationType.group ? conversation.groupId : "";
  return { conversationId: conversation.id, conversationType: conversation.type, groupId };
}

/** A message about to be stored: everything but its seq and what its conversation adds. */
export type NewMessage = Omit<
  StoredMessage,
  "seq" | keyof Identity | "isRevoked" | "revokedBy" | "revokedTime" | "status" | "readBy" | "readCount"
>;

/** What a sender sends: a new message before its conversation gives it an id and a time. */
export type SentMessage = Omit<NewMessage, "serverMsgId" | "serverTime">;

/**
 * A sender's message as its conversation stores it, with the id and time the conversation gave it.
 * With `storedMessage`, the one way a sent message is built: the conversation stores what these
 * make, and the sender's object rebuilds its own copy with them from the answer to the send
 * (user/own-sends.ts), so the two are the same by construction.
 */
export function newMessageFromSend(input: SentMessage, serverMsgId: string, serverTime: number): NewMessage {
  return {
    serverMsgId,
    clientMsgId: input.clientMsgId,
    senderId: input.senderId,
    receiverId: input.receiverId,
    messageType: input.messageType,
    content: input.content,
    sendTime: input.sendTime,
    serverTime,
    extra: input.extra,
    attachedInfo: input.attachedInfo,
    originSession: input.originSession,
  };
}

/** A new message under its seq in its conversation, not revoked. */
export function storedMessage(message: NewMessage, seq: number, id: Identity): StoredMessage {
  // Field by field rather than spread: every message gets the same shape, and this is per message.
  return {
    seq,
    serverMsgId: message.serverMsgId,
    clientMsgId: message.clientMsgId,
    conversationId: id.conversationId,
    conversationType: id.conversationType,
    senderId: message.senderId,
    receiverId: message.receiverId,
    groupId: id.groupId,
    messageType: message.messageType,
    content: message.content,
    sendTime: message.sendTime,
    serverTime: message.serverTime,
    extra: message.extra,
    attachedInfo: message.attachedInfo,
    originSession: message.originSession,
    isRevoked: false,
    revokedBy: "",
    revokedTime: 0,
  };
}

/** Message status values (PROTOCOL.md, "Value sets"). */
export const MessageStatus = { sending: 0, sent: 1, delivered: 2, read: 3, failed: 4 } as const;

export function toMessageInfo(m: StoredMessage): MessageInfo {
  return {
    serverMsgId: m.serverMsgId,
    clientMsgId: m.clientMsgId,
    conversationId: m.conversationId,
    conversationType: m.conversationType,
    senderId: m.senderId,
    receiverId: m.receiverId,
    groupId: m.groupId,
    messageType: m.messageType,
    content: m.content,
    sendTime: m.sendTime,
    serverTime: m.serverTime,
    createTime: m.serverTime,
    seq: m.seq,
    status: m.status ?? MessageStatus.sent,
    isRead: m.status === MessageStatus.read,
    readBy: m.readBy ?? [],
    readCount: m.readCount ?? 0,
    extra: m.extra,
    attachedInfo: m.attachedInfo,
    isRevoked: m.isRevoked,
    revokedBy: m.revokedBy,
    revokedTime: m.revokedTime,
  };
}

/**
 * An upper bound on a MessageInfo's encoded size, cheap enough to sum over a sync page: the
 * variable parts at their byte length (strings at 3 bytes a UTF-16 unit, the UTF-8 worst case)
 * plus a fixed allowance for ids, numbers and tags.
 */
export function encodedSizeBound(m: StoredMessage): number {
  const text = m.extra.length + m.attachedInfo.length + m.clientMsgId.length + m.conversationId.length;
  // read_by lists up to GROUP_RECEIPT_MAX_MEMBERS ids on the sender's own group messages.
  let readBy = 0;
  for (const id of m.readBy ?? []) readBy += 3 * id.length + 3;
  return m.content.byteLength + 3 * text + readBy + 256;
}

/**
 * A message as a recipient's object gets it: what its inbox and pushes look at, and the message
 * itself encoded once as MessageInfo (stored as the inbox's last message, pushed as it is).
 */
export interface DeliveredMessage {
  seq: number;
  serverMsgId: string;
  senderId: string;
  serverTime: number;
  /** The socket session that sent it: that device gets the SEND_MSG_RSP, not a push. */
  originSession: string;
  info: Uint8Array;
}

export function toDelivered(m: StoredMessage): DeliveredMessage {
  return {
    seq: m.seq,
    serverMsgId: m.serverMsgId,
    senderId: m.senderId,
    serverTime: m.serverTime,
    originSession: m.originSession,
    info: ownBytes(pb.MessageInfo.encode(toMessageInfo(m)).finish()),
  };
}

/**
 * The bytes in a buffer of their own. protobufjs encodes a small message into a slice of a shared
 * 8 KiB pool, and an RPC argument carries a Uint8Array's whole buffer: each delivery of a 200-byte
 * message would copy 8 KiB to every member's object (a group's fan-out sends it once per member).
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}
