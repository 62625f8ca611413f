// Public data shapes: users and sessions (HTTP), messages and acks, and every event's payload.
import type { IMError } from "./errors.ts";

/** A user profile as the HTTP API returns it, and what login and refresh return. */
import type { LoginResult, UserJson } from "../protocol/http-shapes.ts";
export type User = UserJson;
export type Session = LoginResult;

/** Message types (PROTOCOL.md, "Value sets"). */
export const MessageType = {
  unknown: 0,
  text: 1,
  image: 2,
  audio: 3,
  video: 4,
  file: 5,
  location: 6,
  card: 7,
  notification: 8,
  custom: 100,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A message's status as its reader sees it (PROTOCOL.md, "Value sets"). */
export const MessageStatus = { sending: 0, sent: 1, delivered: 2, read: 3, failed: 4 } as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** A message of a conversation as the server numbered it. */
export interface Message {
  serverMsgId: string;
  clientMsgId: string;
  conversationId: string;
  /** 1 single, 2 group, 3 chatroom, 4 system. */
  conversationType: number;
  senderId: string;
  receiverId: string;
  groupId: string;
  messageType: number;
  content: Uint8Array;
  /** `content` read as UTF-8 (text is the text itself; media content is JSON text). */
  text: string;
  /** Per-conversation, gapless, from 1. */
  seq: number;
  sendTime: number;
  serverTime: number;
  extra: string;
  attachedInfo: string;
  isRevoked: boolean;
  revokedBy: string;
  revokedTime: number;
  /**
   * MessageStatus as this user saw it when the message reached the client: for this user's own
   * messages `sent` on the ack, and `delivered` or `read` (the peer, or in a group anyone, read it)
   * when it came from a sync or `history`. Receipts after that arrive as `receipt` events.
   */
  status: number;
  /** In a group, how many members read this user's own message (when the server counted it). */
  readCount: number;
}

/** What `send` resolves with once the server has stored the message. */
export interface SendResult {
  clientMsgId: string;
  conversationId: string;
  serverMsgId: string;
  seq: number;
  serverTime: number;
}

/** A message to send: to a conversation id, or to a user (the one-to-one conversation with them). */
export interface OutgoingMessage {
  conversationId?: string;
  to?: string;
  /** Defaults to text (1). */
  messageType?: number;
  content: string | Uint8Array;
  extra?: string;
  attachedInfo?: string;
  /** Set it only to resend something whose outcome is unknown; a fresh UUID otherwise. */
  clientMsgId?: string;
}

export type ConnectionState = "idle" | "connecting" | "authenticating" | "syncing" | "ready" | "stopped";

export interface MessageBatch {
  conversationId: string;
  /** In seq order, contiguous with what came before in this conversation. */
  messages: Message[];
}

export interface ReceiptEvent {
  conversationId: string;
  /** The reader. */
  userId: string;
  /** The ids the read newly covered; empty means the whole conversation up to now. */
  serverMsgIds: string[];
  readTime: number;
}

export interface RevokeEvent {
  conversationId: string;
  serverMsgId: string;
  revokedBy: string;
  revokedTime: number;
}

export interface TypingEvent {
  conversationId: string;
  userId: string;
  typing: boolean;
}

export interface PresenceEvent {
  userId: string;
  online: boolean;
  platforms: string[];
  lastSeen: number;
}

/** Every event of IMClient and its payload. */
export interface IMEvents {
  /** One message, in seq order per conversation, exactly once (this client's own sends included). */
  message: Message;
  /** The same messages grouped as they were delivered (a push, a sync page, a gap fill). */
  messages: MessageBatch;
  /** Authenticated and caught up (after every reconnect too). `maxSeq` is the inbox sequence. */
  connected: { maxSeq: number; reconnected: boolean };
  disconnected: { code: number; reason: string; willReconnect: boolean };
  reconnecting: { attempt: number; delayMs: number };
  /** A batch sync finished: how many rounds (pages) and messages it took. */
  synced: { rounds: number; messages: number };
  /** Another device took this session (KICK_OUT) or the account was refused; no reconnect follows. */
  kicked: { reason: number; message: string };
  /** New tokens (login or refresh), or null after logout: persist them to resume later. */
  session: Session | null;
  receipt: ReceiptEvent;
  revoke: RevokeEvent;
  typing: TypingEvent;
  presence: PresenceEvent;
  /** Anything that went wrong without a caller to reject: a failed sync, a listener that threw. */
  error: IMError;
}
