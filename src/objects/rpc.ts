// What the Durable Objects say to each other over RPC.
import type { Err } from "../protocol/codec";
import type { StoredMessage } from "./message";

/** UserObject -> ConversationObject: store one message. */
export interface SendInput {
  conversationId: string;
  senderId: string;
  receiverId: string;
  clientMsgId: string;
  messageType: number;
  content: Uint8Array;
  sendTime: number;
  extra: string;
  attachedInfo: string;
  originSession: string;
}

export type SendResult =
  | { ok: true; serverMsgId: string; seq: number; serverTime: number; duplicate: boolean }
  | { ok: false; code: Err; message: string };

/** UserObject -> ConversationObject: read messages the user may see. */
export interface ReadQuery {
  conversationId: string;
  userId: string;
  /** First seq wanted (inclusive). Ignored when `newest` is set. */
  fromSeq: number;
  /** Last seq wanted (inclusive); 0 means up to the newest. */
  toSeq: number;
  limit: number;
  /** Return the newest `limit` messages instead of the oldest from `fromSeq`. */
  newest: boolean;
}

export type ReadResult =
  { ok: true; maxSeq: number; messages: StoredMessage[] } | { ok: false; code: Err; message: string };

/** ConversationObject -> UserObject: messages for the user's inbox and live devices, in seq order. */
export interface Delivery {
  recipientId: string;
  conversationId: string;
  conversationType: number;
  messages: StoredMessage[];
}
