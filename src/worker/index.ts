// Worker entry point: the HTTP API and WebSocket entry, the queue consumers, plus the Durable Object
// classes it binds.
import { createApp } from "./app";
import { handleQueue } from "./queue";

export { UserObject } from "../objects/user/user-object";
export { ConversationObject } from "../objects/conversation/conversation-object";
export { GuardObject } from "../objects/guard/guard-object";
export { HistoryWriter } from "../objects/history/history-writer";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
} satisfies ExportedHandler<Env>;
