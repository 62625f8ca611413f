// What the worker, a room (ChatroomObject) and its relays (ChatroomRelay) say to each other over RPC.
import type { Err, Frame } from "../../protocol/codec";

export const ChatroomAccess = { open: "open", token: "token" } as const;
export type ChatroomAccess = (typeof ChatroomAccess)[keyof typeof ChatroomAccess];

/** A room as D1 `chatrooms` keeps it; the room object keeps a copy, handed over at each join. */
export interface ChatroomMeta {
  id: string;
  name: string;
  creatorId: string;
  access: ChatroomAccess;
  createdAt: number;
}

/** One message of a room, in its order (the wire's ChatroomMessage). */
export interface RoomMessage {
  serverMsgId: string;
  clientMsgId: string;
  senderId: string;
  seq: number;
  messageType: number;
  content: Uint8Array;
  serverTime: number;
}

/** A refused call: the HTTP status of the refused upgrade, or the wire error code. */
export interface RoomRefusal {
  ok: false;
  status: 404 | 503;
  message: string;
}

/** Worker -> room: which relay takes the new listener. */
export type Admission = { ok: true; relay: number } | RoomRefusal;

/** Relay -> room: what a new listener is told first (CHATROOM_JOINED). */
export type JoinSnapshot =
  { ok: true; name: string; maxSeq: number; recent: RoomMessage[]; listeners: number } | RoomRefusal;

/** Relay -> room: one send of a listener. */
export interface RoomSend {
  clientMsgId: string;
  messageType: number;
  content: Uint8Array;
}

export type RoomSendResult =
  | { ok: true; serverMsgId: string; seq: number; serverTime: number; duplicate: boolean }
  | { ok: false; code: Err; message: string };

/** Relay -> room: a page of kept messages after a seq. */
export interface HistoryPage {
  messages: RoomMessage[];
  hasMore: boolean;
}

/**
 * The room's stub and a relay's, typed through their bindings (src/env.d.ts) rather than by
 * importing each other's class: the room, its relays and the relays' handlers stay free of a circle
 * of imports.
 */
export type RoomStub = ReturnType<Env["CHATROOM_OBJECT"]["getByName"]>;

/** A frame as it arrived: decoded once, on arrival (acks are handled then, the rest queued). */
export type Incoming = Frame | "text" | "undecodable";
