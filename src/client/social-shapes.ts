// Friends, friend requests, groups, members and conversations as the HTTP API returns them
// (docs/API.md), and their readers: checked field by field, never cast.
import {
  boolean,
  isObject,
  list,
  number,
  readUser,
  ShapeError,
  string,
  type JsonObject,
} from "./json-shapes.ts";
import type { FriendJson, FriendRequestJson, GroupJson, MemberJson } from "../protocol/http-shapes.ts";

/** A friendship as the caller sees it (the SDK's `IMFriend`). */
export type Friend = FriendJson;
/** A pending friend request; `user` is the other side (the requester for incoming ones). */
export type FriendRequest = FriendRequestJson;
export type Group = GroupJson;
export type GroupMember = MemberJson;

/** Group roles (docs/API.md, "Groups"). */
export const GroupRole = { member: 0, admin: 1, owner: 2 } as const;
export type GroupRole = (typeof GroupRole)[keyof typeof GroupRole];

/** A conversation's last message, read from the `latestMsg` JSON text. */
export interface LatestMessage {
  serverMsgId: string;
  senderId: string;
  messageType: number;
  /** The content as text (media content is JSON text). */
  text: string;
  seq: number;
  sendTime: number;
  /** The sender's view: 1 sent, 2 delivered, 3 read. */
  status: number;
  isRevoked: boolean;
}

/** One row of the conversation list (the SDK's `IMConversation`, plus maxSeq and readSeq). */
export interface Conversation {
  conversationID: string;
  /** 1 single, 2 group, 3 chatroom, 4 system. */
  conversationType: number;
  /** The peer of a one-to-one conversation. */
  userID: string;
  groupID: string;
  /** The peer's nickname for one-to-one conversations; empty for others. */
  showName: string;
  faceURL: string;
  latestMessage: LatestMessage | null;
  latestMsgSendTime: number;
  /** maxSeq − readSeq. */
  unreadCount: number;
  lastReadTime: number;
  isPinned: boolean;
  isMuted: boolean;
  updateTime: number;
  maxSeq: number;
  readSeq: number;
  /** Someone mentioned this user (or @all) in a message this user has not read yet (rich messages). */
  mentioned: boolean;
}

function object(data: unknown, what: string): JsonObject {
  if (!isObject(data)) throw new ShapeError(`${what} is not an object`);
  return data;
}

export function readFriend(data: unknown): Friend {
  const o = object(data, "friend");
  return {
    friendUserID: string(o, "friendUserID", true),
    ownerUserID: string(o, "ownerUserID"),
    remark: string(o, "remark"),
    createTime: number(o, "createTime"),
    addSource: number(o, "addSource"),
    operatorUserID: string(o, "operatorUserID"),
    extra: string(o, "extra"),
    user: readUser(o.user),
  };
}

export function readFriendRequest(data: unknown): FriendRequest {
  const o = object(data, "friend request");
  return {
    fromUserID: string(o, "fromUserID", true),
    toUserID: string(o, "toUserID", true),
    message: string(o, "message"),
    status: number(o, "status"),
    createTime: number(o, "createTime"),
    updateTime: number(o, "updateTime"),
    user: readUser(o.user),
  };
}

export function readGroup(data: unknown): Group {
  const o = object(data, "group");
  return {
    groupID: string(o, "groupID", true),
    groupName: string(o, "groupName"),
    faceURL: string(o, "faceURL"),
    ownerUserID: string(o, "ownerUserID"),
    memberCount: number(o, "memberCount"),
    introduction: string(o, "introduction"),
    notification: string(o, "notification"),
    extra: string(o, "extra"),
    createTime: number(o, "createTime"),
    updateTime: number(o, "updateTime"),
    status: number(o, "status"),
    muteAll: boolean(o, "muteAll"),
    joinMode: string(o, "joinMode") || "open",
  };
}

export function readGroupMember(data: unknown): GroupMember {
  const o = object(data, "member");
  return {
    groupID: string(o, "groupID", true),
    userID: string(o, "userID", true),
    nickname: string(o, "nickname"),
    avatar: string(o, "avatar"),
    groupNickname: string(o, "groupNickname"),
    role: number(o, "role"),
    joinTime: number(o, "joinTime"),
    mutedUntil: number(o, "mutedUntil"),
  };
}

/** `latestMsg` is JSON in a string (the iOS SDK's shape); "" means none. */
function readLatest(text: string): LatestMessage | null {
  if (!text) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ShapeError("latestMsg is not JSON");
  }
  const o = object(parsed, "latestMsg");
  return {
    serverMsgId: string(o, "serverMsgID"),
    senderId: string(o, "senderID"),
    messageType: number(o, "messageType"),
    text: string(o, "content"),
    seq: number(o, "seq"),
    sendTime: number(o, "sendTime"),
    status: number(o, "status"),
    isRevoked: boolean(o, "isRevoked"),
  };
}

export function readConversation(data: unknown): Conversation {
  const o = object(data, "conversation");
  return {
    conversationID: string(o, "conversationID", true),
    conversationType: number(o, "conversationType", true),
    userID: string(o, "userID"),
    groupID: string(o, "groupID"),
    showName: string(o, "showName"),
    faceURL: string(o, "faceURL"),
    latestMessage: readLatest(string(o, "latestMsg")),
    latestMsgSendTime: number(o, "latestMsgSendTime"),
    unreadCount: number(o, "unreadCount"),
    lastReadTime: number(o, "lastReadTime"),
    isPinned: boolean(o, "isPinned"),
    isMuted: boolean(o, "isMuted"),
    updateTime: number(o, "updateTime"),
    maxSeq: number(o, "maxSeq"),
    readSeq: number(o, "readSeq"),
    mentioned: boolean(o, "mentioned"),
  };
}

/** A page of the conversation list; `nextOffset` is null on the last page. */
export interface ConversationPage {
  conversations: Conversation[];
  nextOffset: number | null;
}

export function readConversationPage(data: unknown): ConversationPage {
  const o = object(data, "conversation page");
  const next = o.nextOffset;
  if (next !== null && typeof next !== "number") throw new ShapeError("nextOffset is not a number");
  return { conversations: list(o.conversations, "conversations", readConversation), nextOffset: next };
}

export const readFriends = (data: unknown): Friend[] => list(data, "friends", readFriend);
export const readFriendRequests = (data: unknown): FriendRequest[] =>
  list(data, "friend requests", readFriendRequest);
export const readGroups = (data: unknown): Group[] => list(data, "groups", readGroup);
export const readGroupMembers = (data: unknown): GroupMember[] => list(data, "members", readGroupMember);
