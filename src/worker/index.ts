// Worker entry point: the HTTP API and WebSocket entry, plus the Durable Object classes it binds.
import { createApp } from "./app";

export { UserObject } from "../objects/user/user-object";
export { ConversationObject } from "../objects/conversation/conversation-object";
export { GuardObject } from "../objects/guard/guard-object";
export { HistoryWriter } from "../objects/history/history-writer";

export default createApp();
