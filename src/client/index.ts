// Public surface of `edge-im/client`; the IndexedDB store is the separate `edge-im/client/indexeddb`.
export { IMClient, type MessageTarget } from "./client.ts";
export {
  fileContent,
  formatOf,
  imageContent,
  readFileContent,
  readImageContent,
  type FileContent,
  type ImageContent,
  type UploadedFile,
} from "./files.ts";
export type { IMClientOptions } from "./options.ts";
export { defaultWsUrl } from "./options.ts";
export {
  IMConnectionError,
  IMError,
  IMHttpError,
  IMProtocolError,
  IMTimeoutError,
  type IMErrorKind,
} from "./errors.ts";
export { TypedEmitter, type Listener } from "./emitter.ts";
export { MemoryStore, type IMStore } from "./store.ts";
export { Backoff, fullJitterDelay, type BackoffOptions } from "./backoff.ts";
export type { FrameHooks, WebSocketFactory } from "./socket.ts";
export type { LoginInput, RegisterInput } from "./http-api.ts";
export { conversationWith } from "./message.ts";
export { groupConversationId, systemConversationId } from "../protocol/conversation-id.ts";
export { ConversationsApi, FriendsApi, GroupsApi } from "./social-api.ts";
export { Chatroom, type ChatroomEndReason, type ChatroomEvents, type ChatroomOutgoing } from "./chatroom.ts";
export {
  CHATROOM_NAME_MAX,
  type ChatroomAccess,
  type ChatroomInfo,
  type ChatroomJoinToken,
  type ChatroomMessage,
  type CreateChatroomInput,
} from "./chatroom-shapes.ts";

export {
  GroupRole,
  type Conversation,
  type ConversationPage,
  type Friend,
  type FriendRequest,
  type Group,
  type GroupMember,
  type LatestMessage,
} from "./social-shapes.ts";
export { HISTORY_PAGE } from "./history.ts";
export type { SearchHit, SearchOptions, SearchPage } from "./message-search.ts";
export type { PushProvider, PushSettings, PushTokenRegistration, QuietHours } from "./push.ts";
export type { Frame } from "../protocol/codec.ts";
export { Cmd as CommandType, Err as ErrorCode } from "../protocol/codec.ts";
export * from "./types.ts";
