// What the views share: the client, who is signed in, names, the conversation list, navigation.
import type { IMClient, User } from "edge-im/client";
import type { ConversationList } from "./conversations.ts";
import type { Directory } from "./directory.ts";
import type { OwnReactions } from "./own-reactions.ts";

export interface AppContext {
  client: IMClient;
  me: User;
  directory: Directory;
  conversations: ConversationList;
  /** This user's reactions as their own react calls answered (a message lists only 100 reactors). */
  ownReactions: OwnReactions;
  /** Shows a conversation (and, on a narrow window, switches to the chat pane). */
  openConversation(conversationId: string): void;
  /** Shows a conversation scrolled to one message, marked (a search hit). */
  openMessage(conversationId: string, seq: number): void;
  /** Back to the list (narrow windows). */
  closeConversation(): void;
  /** Friend requests or friendships changed: reload what shows them. */
  socialChanged(): void;
  /** A row of the chat list changed here (pin, mute, revoke): re-render the list. */
  listChanged(): void;
  /** A short message at the bottom of the window (errors, confirmations). */
  toast(text: string): void;
}

/** A readable sentence for a failed call (the server's message when there is one). */
export function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong";
}
