// Worker entry point: the HTTP API and WebSocket entry, the Queue consumers, and the Durable Object
// classes it binds.
import { createApp } from "./app";
import { consumeQueue } from "./queues";

export { UserObject } from "../objects/user/user-object";
export { ConversationObject } from "../objects/conversation/conversation-object";
export { GuardObject } from "../objects/guard/guard-object";
export { HistoryWriter } from "../objects/history/history-writer";
export { SocketGauge } from "../objects/stats/socket-gauge";
export { ChatroomObject } from "../objects/chatroom/chatroom-object";
export { ChatroomRelay } from "../objects/chatroom/chatroom-relay";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: consumeQueue,
} satisfies ExportedHandler<Env>;
