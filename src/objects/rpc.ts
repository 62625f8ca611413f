// What the Durable Objects say to each other over RPC. A ConversationObject is always reached by its
// conversation id (getByName) and knows it from its own name, so no call to it carries that id.
import type { Err } from "../protocol/codec";
import type { DeliveredMessage, SentMessage, StoredMessage } from "./message";

/** A refused call: the error code and message the client is answered with. */
export interface Refusal {
  ok: false;
  code: Err;
  message: string;
}

export const refusal = (code: Err, message: string): Refusal => ({ ok: false, code, message });

/**
 * UserObject -> ConversationObject: store one message in the conversation called. With `refused`,
 * the sender's side refused it (the before-send webhook): the conversation stores nothing, and
 * answers a resend of a message it already holds with that message, anything else with the refusal.
 */
export type SendInput = SentMessage & { refused?: { code: Err; message: string } };

export type SendResult =
  | {
      ok: true;
      serverMsgId: string;
      seq: number;
      serverTime: number;
      duplicate: boolean;
      /** The stored message's rich fields, encoded (message.ts `ext`); absent for a plain message. */
      ext?: Uint8Array;
    }
  | Refusal;

/**
 * The answer to a call with a device's sends: each message's result, in order, and whether the
 * sender's object is to put the new ones in its inbox itself (from its inputs and these results)
 * instead of the conversation calling it with them (user/delivery-order.ts).
 */
export interface SendOutcome {
  results: SendResult[];
  /** Set when handed back: the sender's first visible seq, as a delivery would carry it. */
  handedBack: { visibleFrom: number } | null;
}

/** UserObject -> ConversationObject: read messages the user may see. */
export interface ReadQuery {
  userId: string;
  /** First seq wanted (inclusive). Ignored when `newest` is set. */
  fromSeq: number;
  /** Last seq wanted (inclusive); 0 means up to the newest. */
  toSeq: number;
  limit: number;
  /** Return the newest `limit` messages instead of the oldest from `fromSeq`. */
  newest: boolean;
  /**
   * Encoded size the page may take (past its first message): what the reader can put in one frame,
   * so no call carries, and no object loads, more than that.
   */
  maxBytes: number;
  /**
   * False when the reader drops each message's status (a gap fill goes out as pushes): the page is
   * not annotated, and no peer is asked what its devices have (peer-delivered.ts). Absent: true.
   */
  statuses?: boolean;
}

export type ReadResult =
  | {
      ok: true;
      maxSeq: number;
      messages: StoredMessage[];
      /** The conversation's newest change number (rich messages: edits, reactions, pins, revokes). */
      modSeq?: number;
    }
  | Refusal;

/** ConversationObject -> UserObject: messages for the user's inbox and live devices, in seq order. */
export interface Delivery {
  recipientId: string;
  conversationId: string;
  conversationType: number;
  /** The first seq the recipient may see: an inbox row starts read up to just before it. */
  visibleFrom: number;
  messages: DeliveredMessage[];
}

/** UserObject -> ConversationObject: the user read up to these messages (none: all of them). */
export interface MarkReadInput {
  userId: string;
  serverMsgIds: string[];
}

export type MarkReadResult =
  | {
      ok: true;
      conversationType: number;
      /** The other member of a one-to-one conversation, "" otherwise. */
      peerId: string;
      /** The reader's watermark after this request. */
      readSeq: number;
      /** False when the watermark did not move (an old or repeated receipt): nothing to push. */
      advanced: boolean;
      /** The messages from others that this read newly covered, newest first (RECEIPT_PUSH_MAX_IDS at most). */
      newlyRead: string[];
      readTime: number;
    }
  | Refusal;

export interface RevokeInput {
  userId: string;
  serverMsgId: string;
  originSession: string;
}

export type RevokeResult = { ok: true; revokedTime: number } | Refusal;

/** A message the admin API removes: by its seq in the conversation or by its server_msg_id. */
export type AdminRevokeTarget = { seq: number } | { serverMsgId: string };

/** The admin API's removal, answered with an HTTP status (404 no such message, 409 already revoked). */
export type AdminRevokeResult =
  | { ok: true; seq: number; serverMsgId: string; revokedTime: number }
  | { ok: false; status: 404 | 409; message: string };

/** ConversationObject -> UserObject pushes that are not messages. */
export interface ReceiptPush {
  conversationId: string;
  /** The reader. */
  userId: string;
  serverMsgIds: string[];
  readTime: number;
}

export interface RevokePush {
  conversationId: string;
  serverMsgId: string;
  revokedBy: string;
  revokedTime: number;
}

export interface TypingPush {
  conversationId: string;
  userId: string;
  status: number;
}

export interface Presence {
  userId: string;
  online: boolean;
  platforms: string[];
  lastSeen: number;
}

// ---- Rich messages (docs/RICH-MESSAGES.md) ------------------------------------------------------

/** One emoji's reactions on a message: the exact count, the first RICH_REACTION_USERS_LISTED users. */
export interface ReactionSummary {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface Pin {
  serverMsgId: string;
  seq: number;
  pinnedBy: string;
  pinnedTime: number;
}

/** UserObject -> ConversationObject: add or take back the user's reaction on a message. */
export interface ReactInput {
  userId: string;
  serverMsgId: string;
  emoji: string;
  remove: boolean;
  originSession: string;
}

/** `modSeq`: the message's change number after the request (its last one, for a request that changed nothing). */
export type ReactResult = { ok: true; reactions: ReactionSummary[]; modSeq: number } | Refusal;

/** UserObject -> ConversationObject: replace the content of the user's own message. */
export interface EditInput {
  userId: string;
  serverMsgId: string;
  content: Uint8Array;
  originSession: string;
}

export type EditResult = { ok: true; editedTime: number; editCount: number; modSeq: number } | Refusal;

export interface PinInput {
  userId: string;
  serverMsgId: string;
  unpin: boolean;
  originSession: string;
}

/** `modSeq`: the pinned list's change number after the request. */
export type PinResult = { ok: true; pins: Pin[]; modSeq: number } | Refusal;

/** The replies quoting one message, after `afterSeq`, oldest first. */
export interface ThreadQuery {
  userId: string;
  rootServerMsgId: string;
  afterSeq: number;
  limit: number;
  /** Encoded size the root and the replies may take past the first reply (as ReadQuery.maxBytes). */
  maxBytes: number;
}

export type ThreadResult =
  { ok: true; root: StoredMessage; replies: StoredMessage[]; hasMore: boolean } | Refusal;

/** What changed after `afterModSeq` among the messages the user may see. */
export interface ChangesQuery {
  userId: string;
  afterModSeq: number;
  limit: number;
  maxBytes: number;
  /** Only the pinned list and the newest change number (a device new to the conversation). */
  pinsOnly?: boolean;
}

export type ChangesResult =
  | {
      ok: true;
      /** Current state of each changed message, by change number. */
      messages: StoredMessage[];
      pinsChanged: boolean;
      /** The whole pinned list when pinsChanged, else empty. */
      pins: Pin[];
      /** Where the next request continues from. */
      modSeq: number;
      hasMore: boolean;
    }
  | Refusal;

export interface MessageQuery {
  userId: string;
  serverMsgId: string;
}

/** A page of a message's earlier contents: the newest before `beforeVersion` (0: all) within `maxBytes`. */
export interface EditHistoryQuery extends MessageQuery {
  beforeVersion: number;
  /** Encoded size the versions may take past the first (as ReadQuery.maxBytes). */
  maxBytes: number;
}

export interface EditVersion {
  /** 1: the original content, 2: the first edit's, and so on. */
  version: number;
  content: Uint8Array;
  replacedTime: number;
}

export type EditHistoryResult =
  | {
      ok: true;
      /** Oldest first: the newest versions before the asked one that fit. */
      versions: EditVersion[];
      /** Older versions are left. */
      hasMore: boolean;
    }
  | Refusal;

/** A message the user may read, for a forward's copy (the sender's object reads it first). */
export type ForwardSourceResult = { ok: true; message: StoredMessage } | Refusal;

/**
 * ConversationObject -> UserObject: a message changed (edit, reaction, reply count, quoted message
 * revoked). `info` is its MessageInfo without rich fields (what the SDK may see), `ext` the rich
 * fields; rich_messages sockets get CMD_MESSAGE_UPDATED_PUSH with both.
 */
export interface MessageUpdate {
  conversationId: string;
  seq: number;
  info: Uint8Array;
  ext: Uint8Array;
  modSeq: number;
}

/** ConversationObject -> UserObject: the conversation's pinned list changed. */
export interface PinsUpdate {
  conversationId: string;
  pins: Pin[];
  modSeq: number;
}

/**
 * ConversationObject -> UserObject: a member's next changes (change-pump.ts), oldest first: the
 * messages changed, each as it is now, and the pinned list if it changed among them.
 */
export interface ChangeBatch {
  conversationId: string;
  updates: MessageUpdate[];
  /** Per update, the device session that made it ("" for none known): it had its answer. */
  origins: string[];
  pins: PinsUpdate | null;
  pinsOrigin: string;
  /** The change number the member has everything up to after this batch. */
  modSeq: number;
}
