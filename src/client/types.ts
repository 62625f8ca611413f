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
  // Rich messages (docs/RICH-MESSAGES.md): the message's current state, kept up to date in the store
  // by `updated` events and by the changes fetched after each sync.
  /** The message this one replies to, as the server filled it in; null when not a reply. */
  replyTo: ReplyRef | null;
  /** Users mentioned (members of the conversation). */
  mentions: string[];
  /** @all (groups: sent by an owner or admin). */
  mentionAll: boolean;
  /** Set on a forwarded copy: whose message it was and when it was sent. */
  forwardedFrom: ForwardedFrom | null;
  /** When the content was last replaced by an edit (0: never edited), and how many times. */
  editedTime: number;
  editCount: number;
  /** Each emoji with its exact count and the first 100 who reacted, in order of reacting. */
  reactions: Reaction[];
  /** How many replies quote this message (its thread's length). */
  replyCount: number;
  /** The conversation's change number at this message's last change; 0 when never changed. */
  modSeq: number;
}

/** The quoted message of a reply. */
export interface ReplyRef {
  serverMsgId: string;
  seq: number;
  senderId: string;
  messageType: number;
  /** The quoted text's first 100 characters (text messages); "" otherwise or once revoked. */
  snippet: string;
  /** The quoted message was revoked since. */
  revoked: boolean;
}

export interface ForwardedFrom {
  senderId: string;
  serverTime: number;
}

export interface Reaction {
  emoji: string;
  /** Exact. */
  count: number;
  /** Who reacted, in order of reacting: at most the first 100. */
  userIds: string[];
}

/** A pinned message of a conversation (pinned lists are newest pin first, at most 10). */
export interface PinnedMessage {
  serverMsgId: string;
  seq: number;
  pinnedBy: string;
  pinnedTime: number;
}

/** An earlier content of an edited message; `replacedTime` is when the edit replaced it. */
export interface MessageVersion {
  content: Uint8Array;
  text: string;
  replacedTime: number;
}

/** A page of a thread: the root and the replies quoting it that this user can see, oldest first. */
export interface ThreadPage {
  root: Message | null;
  replies: Message[];
  /** More replies follow: ask again with `afterSeq` = the last reply's seq. */
  hasMore: boolean;
}

/** A conversation's pinned list after a change (a PINS_PUSH, a CHANGES answer, one's own pin). */
export interface PinsEvent {
  conversationId: string;
  pins: PinnedMessage[];
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
  /** A reply: the quoted message's serverMsgId, in the same conversation (the server fills the quote). */
  replyTo?: string;
  /** Members to mention (at most 50, not the sender). */
  mentions?: readonly string[];
  /** @all: groups only, owners and admins only. */
  mentionAll?: boolean;
  /**
   * A forward: the server copies this message's type, content, extra and attached info (the ones
   * given here are replaced) and marks the copy `forwardedFrom`. See `IMClient.forward`.
   */
  forwardOf?: { conversationId: string; serverMsgId: string };
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
  /**
   * A message changed (edit, reaction, reply count, quoted message revoked, revoke): its current
   * state, with this user's read state kept. From a MESSAGE_UPDATED_PUSH, the changes fetched after
   * a sync, or this client's own react / edit once the server agreed. The store has it already.
   */
  updated: Message;
  /** A conversation's pinned list changed (the whole list, newest pin first). */
  pins: PinsEvent;
  typing: TypingEvent;
  presence: PresenceEvent;
  /** Anything that went wrong without a caller to reject: a failed sync, a listener that threw. */
  error: IMError;
}
