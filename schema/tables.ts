// D1 tables (drizzle-orm). D1 holds the durable truth for accounts and the full message history;
// live sync state lives in the Durable Objects. Times are Unix milliseconds.
import { sql } from "drizzle-orm";
import { customType, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** A BLOB as a Uint8Array: Workers have no Buffer, and D1 binds typed arrays and returns byte arrays. */
const bytes = customType<{ data: Uint8Array; driverData: ArrayBuffer | Uint8Array | number[] }>({
  dataType: () => "blob",
  toDriver: (value) => value,
  fromDriver: (value) => (value instanceof Uint8Array ? value : new Uint8Array(value)),
});

const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;

export const users = sqliteTable("users", {
  // ULID: URL-safe and free of "_", which conversation ids use as their separator.
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  nickname: text("nickname").notNull().default(""),
  passwordHash: text("password_hash").notNull(),
  avatar: text("avatar").notNull().default(""),
  phone: text("phone").notNull().default(""),
  email: text("email").notNull().default(""),
  gender: integer("gender").notNull().default(0),
  birth: integer("birth").notNull().default(0),
  signature: text("signature").notNull().default(""),
  extra: text("extra").notNull().default(""),
  // 0 active, 1 disabled.
  status: integer("status").notNull().default(0),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

// Opaque refresh tokens, stored only as their SHA-256. Each login starts a family; a refresh rotates
// the token within its family, and a token used twice revokes the whole family (theft detection).
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id").notNull(),
    familyId: text("family_id").notNull(),
    platform: text("platform").notNull().default(""),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    revokedAt: integer("revoked_at"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("refresh_tokens_family").on(t.familyId), index("refresh_tokens_user").on(t.userId)],
);

// One row per conversation, written by its ConversationObject when the conversation starts.
export const conversations = sqliteTable("conversations", {
  id: text("id").primaryKey(),
  // 1 single, 2 group, 3 chatroom, 4 system.
  type: integer("type").notNull(),
  // For single conversations: the two members, in the id's (ascending) order.
  memberA: text("member_a"),
  memberB: text("member_b"),
  createdAt: integer("created_at").notNull().default(now),
});

// The full message history, copied from each ConversationObject's outbox. (conversation_id, seq) is
// the natural key, so a repeated flush inserts nothing twice.
export const messages = sqliteTable(
  "messages",
  {
    conversationId: text("conversation_id").notNull(),
    seq: integer("seq").notNull(),
    serverMsgId: text("server_msg_id").notNull().unique(),
    clientMsgId: text("client_msg_id").notNull(),
    senderId: text("sender_id").notNull(),
    receiverId: text("receiver_id").notNull().default(""),
    groupId: text("group_id").notNull().default(""),
    conversationType: integer("conversation_type").notNull(),
    messageType: integer("message_type").notNull(),
    content: bytes("content").notNull(),
    sendTime: integer("send_time").notNull(),
    serverTime: integer("server_time").notNull(),
    extra: text("extra").notNull().default(""),
    attachedInfo: text("attached_info").notNull().default(""),
    // A revoked message keeps its row and seq; its content is emptied.
    isRevoked: integer("is_revoked", { mode: "boolean" }).notNull().default(false),
    revokedBy: text("revoked_by").notNull().default(""),
    revokedTime: integer("revoked_time").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.seq] }),
    index("messages_sender_time").on(t.senderId, t.serverTime),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type MessageRow = typeof messages.$inferInsert;
