// A stored message as the objects pass it to each other over RPC, how a new one is built, and its
// wire form (MessageInfo).
import { pb, type MessageInfo } from "../protocol/codec";
import { ConversationType, type ParsedConversation } from "../protocol/conversation-id";
import { decodeRich } from "./rich-fields";

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
  /**
   * Rich messages (docs/RICH-MESSAGES.md): MessageInfo's fields 100+ encoded on their own. A
   * rich_messages socket gets the MessageInfo bytes followed by these (protobuf fields concatenate);
   * any other socket gets the MessageInfo alone. Absent or empty: a plain message.
   */
  ext?: Uint8Array;
  /** Set by a sender: the rich fields the conversation checks and completes into `ext`. */
  rich?: RichSend;
}

/** What a sender's rich fields ask for (docs/RICH-MESSAGES.md, "Sending"). */
export interface RichSend {
  /** server_msg_id of the message quoted, in the same conversation. */
  replyTo?: string;
  mentionUserIds?: string[];
  mentionAll?: boolean;
  /** A forward: whose message the content was copied from (the sender's object read it). */
  forwardedFrom?: { senderId: string; serverTime: number };
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
export function newMessageFromSend(
  input: SentMessage,
  serverMsgId: string,
  serverTime: number,
  /** The rich fields the conversation completed from `input.rich` (SendResult.ext); never the sender's. */
  ext?: Uint8Array,
): NewMessage {
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
    ext,
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
    ext: message.ext,
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
 * An upper bound on the bytes a MessageInfo takes inside a sync page, cheap enough to sum over one:
 * the exact protobuf size of what `toMessageInfo` encodes (fields at their default are not written)
 * with strings at their UTF-8 length (ASCII exact, any other UTF-16 unit counted as 3 bytes), plus
 * the tag and length that embed it in a repeated field. It was a rough bound before (every string
 * unit at 3 bytes, 256 bytes for the rest), about twice a typical message's size, which cut a
 * catch-up into twice the BATCH_SYNC rounds it needs.
 */
export function encodedSizeBound(m: StoredMessage): number {
  let readBy = 0;
  // A repeated string is written even when empty: tag, length, bytes.
  for (const id of m.readBy ?? []) readBy += 2 + varintBytes(utf8BytesBound(id)) + utf8BytesBound(id);
  const size =
    stringField(m.serverMsgId, 1) +
    stringField(m.clientMsgId, 1) +
    stringField(m.conversationId, 1) +
    stringField(m.senderId, 1) +
    stringField(m.receiverId, 1) +
    stringField(m.groupId, 1) +
    numberField(m.messageType, 1) +
    (m.content.byteLength === 0 ? 0 : 1 + varintBytes(m.content.byteLength) + m.content.byteLength) +
    numberField(m.sendTime, 1) +
    2 * numberField(m.serverTime, 1) + // server_time and create_time
    numberField(m.seq, 1) +
    numberField(m.status ?? MessageStatus.sent, 1) +
    (m.status === MessageStatus.read ? 2 : 0) + // is_read
    stringField(m.extra, 1) +
    readBy +
    (m.isRevoked ? 3 : 0) +
    stringField(m.revokedBy, 2) +
    numberField(m.revokedTime, 2) +
    stringField(m.attachedInfo, 2) +
    numberField(m.conversationType, 2) +
    numberField(m.readCount ?? 0, 2) +
    // Rich fields, appended as they are for rich_messages sockets (a bound for the others too).
    (m.ext?.byteLength ?? 0);
  return size + EMBEDDING_BYTES_MAX_TAG + varintBytes(size);
}

/** A repeated message field's tag: two bytes for any field number below 2,048. */
const EMBEDDING_BYTES_MAX_TAG = 2;

/** A varint's bytes for n (a negative int32 or int64 takes 10). */
function varintBytes(n: number): number {
  if (n < 0) return 10;
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** A string's UTF-8 bytes at most: ASCII exact, any other UTF-16 unit 3 (a surrogate pair's 4 as 6). */
function utf8BytesBound(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) bytes += 2;
  return bytes;
}

function stringField(s: string, tagBytes: number): number {
  if (s === "") return 0;
  const n = utf8BytesBound(s);
  return tagBytes + varintBytes(n) + n;
}

function numberField(n: number, tagBytes: number): number {
  return n === 0 ? 0 : tagBytes + varintBytes(n);
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
  /** Rich fields (StoredMessage.ext), appended to `info` for rich_messages sockets only. */
  ext?: Uint8Array;
  /** Who the message mentions (the inbox flags "you were mentioned"); absent: nobody. */
  mentionUserIds?: string[];
  mentionAll?: boolean;
}

export function toDelivered(m: StoredMessage): DeliveredMessage {
  const delivered: DeliveredMessage = {
    seq: m.seq,
    serverMsgId: m.serverMsgId,
    senderId: m.senderId,
    serverTime: m.serverTime,
    originSession: m.originSession,
    info: ownBytes(pb.MessageInfo.encode(toMessageInfo(m)).finish()),
  };
  // A plain message stops here: only a rich one pays for decoding its fields.
  if (!m.ext || m.ext.byteLength === 0) return delivered;
  delivered.ext = m.ext;
  // A message revoked before it reached the recipient mentions nobody any more.
  if (m.isRevoked) return delivered;
  const { mentionUserIds, mentionAll } = decodeRich(m.ext);
  if (mentionUserIds) delivered.mentionUserIds = mentionUserIds;
  if (mentionAll) delivered.mentionAll = true;
  return delivered;
}

/**
 * The bytes in a buffer of their own. protobufjs encodes a small message into a slice of a shared
 * 8 KiB pool, and an RPC argument carries a Uint8Array's whole buffer: each delivery of a 200-byte
 * message would copy 8 KiB to every member's object (a group's fan-out sends it once per member).
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}
