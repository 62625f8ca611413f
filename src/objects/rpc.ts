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
  { ok: true; serverMsgId: string; seq: number; serverTime: number; duplicate: boolean } | Refusal;

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
}

export type ReadResult = { ok: true; maxSeq: number; messages: StoredMessage[] } | Refusal;

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
