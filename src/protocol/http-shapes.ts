// JSON shapes of the HTTP API that the server sends and the client SDK reads: defined once here.

/** A user profile (the SDK's `IMUser`, http-api.md §3.1): camelCase keys, ms timestamps. */
export interface UserJson {
  userID: string;
  nickname: string;
  avatar: string;
  phone: string;
  email: string;
  gender: number;
  birth: number;
  signature: string;
  extra: string;
  createTime: number;
  updateTime: number;
}

/** What login and refresh return. */
export interface LoginResult {
  token: string;
  userID: string;
  user: UserJson;
  /** Unix ms after which `token` is refused. */
  expiresAt: number;
  refreshToken: string;
  refreshExpiresAt: number;
}

/** A friendship as the caller sees it (the SDK's `IMFriend`, http-api.md §3.2). */
export interface FriendJson {
  friendUserID: string;
  ownerUserID: string;
  remark: string;
  createTime: number;
  addSource: number;
  operatorUserID: string;
  extra: string;
  user: UserJson;
}

/** A pending friend request; `user` is the other side (the requester for incoming ones). */
export interface FriendRequestJson {
  fromUserID: string;
  toUserID: string;
  message: string;
  status: number;
  createTime: number;
  updateTime: number;
  user: UserJson;
}

/** A group (the SDK's `IMGroup`, http-api.md §3.3). */
export interface GroupJson {
  groupID: string;
  groupName: string;
  faceURL: string;
  ownerUserID: string;
  memberCount: number;
  introduction: string;
  notification: string;
  extra: string;
  createTime: number;
  updateTime: number;
  /** 0 normal, 1 dismissed. */
  status: number;
  muteAll: boolean;
  /** Extension: "open", "invite-only" or "approval". */
  joinMode: string;
}

/** A group member (extension, http-api.md §3.4): decodes as a User too. */
export interface MemberJson {
  groupID: string;
  userID: string;
  nickname: string;
  avatar: string;
  groupNickname: string;
  /** 0 member, 1 admin, 2 owner. */
  role: number;
  joinTime: number;
  /** Unix ms; 0 or past when not muted. */
  mutedUntil: number;
}

/**
 * One message found by `GET /api/messages/search`: where it is (conversation and seq, enough for
 * SYNC_RANGE to fetch it and its neighbours) and an excerpt with the matched words' ranges.
 */
export interface MessageSearchHitJson {
  conversationID: string;
  conversationType: number;
  seq: number;
  serverMsgID: string;
  senderID: string;
  messageType: number;
  sendTime: number;
  serverTime: number;
  /** Plain text around the first match, "…" where it was cut. */
  snippet: string;
  /** [start, end) of each matched word in `snippet`, in UTF-16 code units (JS strings, NSRange). */
  highlights: [number, number][];
}

/** A page of search results, newest first; pass `nextCursor` back as `cursor` for the next. */
export interface MessageSearchPageJson {
  messages: MessageSearchHitJson[];
  /** null when nothing is left. A page may be short, even empty, with a cursor: keep going. */
  nextCursor: string | null;
}
