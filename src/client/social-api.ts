// Typed HTTP calls for friends (requests, blocks), groups and the conversation list (docs/API.md),
// reached as `client.friends`, `client.groups` and `client.conversations`.
import type { ApiClient } from "./http-api.ts";
import {
  readConversation,
  readConversationPage,
  readFriend,
  readFriendRequests,
  readFriends,
  readGroup,
  readGroupMembers,
  readGroups,
  type Conversation,
  type ConversationPage,
  type Friend,
  type FriendRequest,
  type Group,
  type GroupMember,
} from "./social-shapes.ts";
import { readUsers } from "./json-shapes.ts";
import type { User } from "./types.ts";

const path = encodeURIComponent;
const nothing = (): void => undefined;

/**
 * @example
 * await alice.friends.add(bobId, "hi, it's Alice");
 * const [request] = await bob.friends.requests(); // request.user is Alice
 * await bob.friends.accept(request.fromUserID);
 */
export class FriendsApi {
  private readonly api: ApiClient;

  constructor(api: ApiClient) {
    this.api = api;
  }

  /** Sends a request; if that user already asked the caller, they become friends at once. */
  add(userId: string, message = ""): Promise<void> {
    return this.api.request("POST", "/api/friend/add", { userID: userId, message }).then(nothing);
  }

  /** Accepts a pending request from `userId`; resolves with the new friendship. */
  accept(userId: string): Promise<Friend> {
    return this.api.request("POST", "/api/friend/accept", { userID: userId }).then(readFriend);
  }

  reject(userId: string): Promise<void> {
    return this.api.request("POST", "/api/friend/reject", { userID: userId }).then(nothing);
  }

  /** Ends the friendship both ways (idempotent). */
  remove(userId: string): Promise<void> {
    return this.api.request("POST", "/api/friend/delete", { userID: userId }).then(nothing);
  }

  list(): Promise<Friend[]> {
    return this.api.request("GET", "/api/friend/list").then(readFriends);
  }

  /** Pending requests to the caller (default) or from the caller, newest first. */
  requests(direction: "incoming" | "outgoing" = "incoming"): Promise<FriendRequest[]> {
    return this.api.request("GET", `/api/friend/requests?direction=${direction}`).then(readFriendRequests);
  }

  isFriend(userId: string): Promise<boolean> {
    return this.api.request("GET", `/api/friend/check?userID=${path(userId)}`).then((data) => data === true);
  }

  setRemark(userId: string, remark: string): Promise<Friend> {
    return this.api.request("POST", "/api/friend/remark", { userID: userId, remark }).then(readFriend);
  }

  block(userId: string): Promise<void> {
    return this.api.request("POST", "/api/friend/block", { userID: userId }).then(nothing);
  }

  unblock(userId: string): Promise<void> {
    return this.api.request("POST", "/api/friend/unblock", { userID: userId }).then(nothing);
  }

  blocked(): Promise<User[]> {
    return this.api.request("GET", "/api/friend/blocks").then(readUsers);
  }
}

/**
 * @example
 * const group = await alice.groups.create({ groupName: "Team", memberUserIDs: [bobId] });
 * await carol.groups.join(group.groupID);
 * await carol.sendText … // conversation id: `group_${group.groupID}`
 */
export class GroupsApi {
  private readonly api: ApiClient;

  constructor(api: ApiClient) {
    this.api = api;
  }

  /** Creates a group owned by the caller, with these members in it from the start. */
  create(input: {
    groupName: string;
    memberUserIDs?: string[];
    faceURL?: string;
    introduction?: string;
  }): Promise<Group> {
    return this.api.request("POST", "/api/group/create", input).then(readGroup);
  }

  get(groupId: string): Promise<Group> {
    return this.api.request("GET", `/api/group/${path(groupId)}`).then(readGroup);
  }

  /** The caller's groups (not dismissed). */
  mine(): Promise<Group[]> {
    return this.api.request("GET", "/api/group/my/list").then(readGroups);
  }

  /** Joins (idempotent); the member sees the conversation from the join notice on. */
  join(groupId: string): Promise<Group> {
    return this.api.request("POST", `/api/group/${path(groupId)}/join`).then(readGroup);
  }

  leave(groupId: string): Promise<void> {
    return this.api.request("POST", `/api/group/${path(groupId)}/leave`).then(nothing);
  }

  invite(groupId: string, userIds: string[]): Promise<void> {
    return this.api.request("POST", `/api/group/${path(groupId)}/invite`, { userIDs: userIds }).then(nothing);
  }

  /** Members by role, then join time (members only). */
  members(groupId: string, options: { offset?: number; limit?: number } = {}): Promise<GroupMember[]> {
    const query = new URLSearchParams();
    if (options.offset !== undefined) query.set("offset", String(options.offset));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    return this.api.request("GET", `/api/group/${path(groupId)}/members?${query}`).then(readGroupMembers);
  }
}

/**
 * The user's conversation list, kept by the server: pinned first, then by last activity, with
 * unread counts derived from seqs.
 *
 * @example
 * const { conversations } = await client.conversations.list({ limit: 50 });
 */
export class ConversationsApi {
  private readonly api: ApiClient;

  constructor(api: ApiClient) {
    this.api = api;
  }

  list(options: { offset?: number; limit?: number } = {}): Promise<ConversationPage> {
    const query = new URLSearchParams();
    if (options.offset !== undefined) query.set("offset", String(options.offset));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    return this.api.request("GET", `/api/conversations?${query}`).then(readConversationPage);
  }

  get(conversationId: string): Promise<Conversation> {
    return this.api.request("GET", `/api/conversations/${path(conversationId)}`).then(readConversation);
  }

  pin(conversationId: string, pinned: boolean): Promise<Conversation> {
    return this.api
      .request("POST", `/api/conversations/${path(conversationId)}/pin`, { pinned })
      .then(readConversation);
  }

  mute(conversationId: string, muted: boolean): Promise<Conversation> {
    return this.api
      .request("POST", `/api/conversations/${path(conversationId)}/mute`, { muted })
      .then(readConversation);
  }

  /** Hides the conversation until its next message. */
  hide(conversationId: string): Promise<void> {
    return this.api.request("POST", `/api/conversations/${path(conversationId)}/delete`).then(nothing);
  }

  /** Marks the whole conversation read over HTTP (the socket's `markRead` does the same). */
  markRead(conversationId: string): Promise<Conversation> {
    return this.api.request("POST", `/api/conversations/${path(conversationId)}/read`).then(readConversation);
  }
}
