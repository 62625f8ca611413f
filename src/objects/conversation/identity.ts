// Which conversation an object is. Every ConversationObject is reached by its conversation id
// (getByName), so its name says it: read once, when the object starts. It is also written to the
// object's `meta` table on its first write, for the one caller without a name: an alarm set before
// 2026-03-15, which runs without it in production.
import { Err } from "../../protocol/codec";
import {
  ConversationType,
  parseConversationId,
  type ParsedConversation,
} from "../../protocol/conversation-id";
import { identityOf, type Identity } from "../message";
import { refusal, type Refusal } from "../rpc";
import { migrateMessages } from "./message-tables";

/** The conversation an object is, parsed, and its identity. */
export interface Named {
  conversation: ParsedConversation;
  id: Identity;
}

/**
 * The conversation an object's name says it is; or, for a malformed name or a chatroom's (a
 * chatroom has no object of this kind), the refusal every call to the object answers.
 */
export function identityFromName(name: string | undefined): Named | Refusal {
  const conversation = parseConversationId(name ?? "");
  if (!conversation) return refusal(Err.ERR_INVALID_PARAM, "malformed conversation_id");
  if (conversation.type === ConversationType.chatroom) {
    return refusal(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversation.id} does not exist`);
  }
  return { conversation, id: identityOf(conversation) };
}

export class IdentityStore {
  private readonly sql: SqlStorage;
  private cached: Identity | null = null;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrateMessages(this.sql);
  }

  /** Stores the identity, once: on the object's first write (later calls cost nothing). */
  bind(id: Identity): void {
    if (this.stored()) return;
    for (const [key, value] of Object.entries(id)) {
      this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", key, String(value));
    }
    this.cached = id;
  }

  /** The identity stored on the first write, or null when the object was never written. */
  stored(): Identity | null {
    if (this.cached) return this.cached;
    const rows = this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta").toArray();
    const meta = new Map(rows.map((r) => [r.key, r.value]));
    const conversationId = meta.get("conversationId");
    if (!conversationId) return null;
    this.cached = {
      conversationId,
      conversationType: Number(meta.get("conversationType")),
      groupId: meta.get("groupId") ?? "",
    };
    return this.cached;
  }
}
