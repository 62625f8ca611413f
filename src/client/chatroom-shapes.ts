// Chatrooms over HTTP (docs/CHATROOMS.md): the room and join-token shapes, read field by field as the
// other shapes are, the request bodies, and the message a room socket carries as the app sees it.
import { isValidId } from "../protocol/conversation-id.ts";
import { IMError } from "./errors.ts";
import { isObject, number, ShapeError, string } from "./json-shapes.ts";

/** "open": anyone signed in may join; "token": only with a join token from the creator. */
export type ChatroomAccess = "open" | "token";

export interface ChatroomInfo {
  id: string;
  name: string;
  access: ChatroomAccess;
  creatorId: string;
  /** Unix ms. */
  createdAt: number;
  /** Approximate (the relays' last reports); 0 when the answer did not say. */
  listeners: number;
}

export interface ChatroomJoinToken {
  /** Pass it as `joinToken` to `joinChatroom`; anyone holding it may join until it expires. */
  token: string;
  /** Unix ms. */
  expiresAt: number;
}

export interface CreateChatroomInput {
  /** 1 to 64 characters. */
  name: string;
  /** Default "open". */
  access?: ChatroomAccess;
}

/** A message of a room, in the room's order (seq 1, 2, 3, … without gaps). */
export interface ChatroomMessage {
  roomId: string;
  serverMsgId: string;
  clientMsgId: string;
  senderId: string;
  seq: number;
  messageType: number;
  content: Uint8Array;
  /** `content` read as UTF-8. */
  text: string;
  serverTime: number;
}

/** The server's own limit (CHATROOM name, docs/CHATROOMS.md). */
export const CHATROOM_NAME_MAX = 64;

export function readChatroom(data: unknown): ChatroomInfo {
  if (!isObject(data)) throw new ShapeError("the answer is not an object");
  const room = data.chatroom;
  if (!isObject(room)) throw new ShapeError("chatroom is not an object");
  const access = string(room, "access", true);
  if (access !== "open" && access !== "token") throw new ShapeError(`access is "${access}"`);
  return {
    id: string(room, "id", true),
    name: string(room, "name", true),
    access,
    creatorId: string(room, "creatorId", true),
    createdAt: number(room, "createdAt"),
    // The count may sit beside the room or inside it.
    listeners: number(room, "listeners") || number(data, "listeners"),
  };
}

export function readJoinToken(data: unknown): ChatroomJoinToken {
  if (!isObject(data)) throw new ShapeError("the join token answer is not an object");
  return { token: string(data, "token", true), expiresAt: number(data, "expiresAt", true) };
}

/** The body of POST /api/chatrooms, checked here so bad input fails before a round trip. */
export function createBody(input: CreateChatroomInput): { name: string; access: ChatroomAccess } {
  const name = input.name.trim();
  if (name.length === 0 || name.length > CHATROOM_NAME_MAX)
    throw new IMError("invalid", 0, `a room name has 1 to ${CHATROOM_NAME_MAX} characters`);
  const access = input.access ?? "open";
  if (access !== "open" && access !== "token") throw new IMError("invalid", 0, `unknown access "${access}"`);
  return { name, access };
}

/** `/api/chatrooms/<id>`, refusing an id that could not name a room (and could change the path). */
export function roomPath(roomId: string, tail = ""): string {
  if (!isValidId(roomId)) throw new IMError("invalid", 0, `not a room id: "${roomId}"`);
  return `/api/chatrooms/${roomId}${tail}`;
}
