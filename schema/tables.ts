// D1 tables (drizzle-orm). D1 holds the durable truth for accounts and the full message history;
// live sync state lives in the Durable Objects. Times are Unix milliseconds.
import { sql } from "drizzle-orm";
import {
  customType,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** A BLOB as a Uint8Array: Workers have no Buffer, and D1 binds typed arrays and returns byte arrays. */
const bytes = customType<{ data: Uint8Array; driverData: ArrayBuffer | Uint8Array | number[] }>({
  dataType: () => "blob",
  toDriver: (value) => value,
  fromDriver: (value) => (value instanceof Uint8Array ? value : new Uint8Array(value)),
});

const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;

/** users.status. Only an active account may log in or use a token (src/auth/sessions.ts). */
export const AccountStatus = { active: 0, banned: 1 } as const;
export type AccountStatus = (typeof AccountStatus)[keyof typeof AccountStatus];

export const users = sqliteTable(
  "users",
  {
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
    // AccountStatus: 0 active, 1 banned (by the admin API; refused at login, refresh, upgrade and HTTP).
    status: integer("status").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  // User search matches prefixes of the username and (case-insensitively) the nickname, by index.
  (t) => [index("users_nickname_lower").on(sql`lower(${t.nickname})`)],
);

// One row per login. The access token names its session (`sid`), and every upgrade and HTTP call
// checks that the session still stands: logout, a password change or an admin revokes it at once,
// which is what makes a 30-day access token safe for the iOS SDK, which never refreshes.
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    platform: text("platform").notNull().default(""),
    createdAt: integer("created_at").notNull().default(now),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

// Opaque refresh tokens, stored only as their SHA-256. Each login starts a family; a refresh rotates
// the token within its family, and a token used twice revokes the whole family (theft detection).
// A family's id is its session's id.
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
// the natural key, so a repeated flush inserts nothing twice. Triggers on it keep message search
// beside it (an FTS5 index, document ids, reader ranges): migrations/0005_message_search.sql,
// written by hand, as drizzle has no words for virtual tables or triggers.
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
    // Rich messages: how many times the content was edited. A copy replaces the row's content only
    // when it is a later edit, so a copy still on its way from before an edit never brings it back.
    editCount: integer("edit_count").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.seq] }),
    index("messages_sender_time").on(t.senderId, t.serverTime),
    // The admin API's "messages today" (GET /api/admin/stats) counts by time without a table scan.
    index("messages_server_time").on(t.serverTime),
  ],
);

// Which D1 database holds each conversation's history (src/db/history-shards.ts): chosen by the
// conversation's object before its first history row is written, recorded here in the main
// database, and never changed, so shards can be added without moving anything. A conversation with
// no row here has its history in the main database (`DB`), as every conversation had before shards.
// `shard` is the D1 binding's name (HISTORY_SHARDS), never a position, so the list can be re-ordered.
// Every database gets every migration (one schema): in a history shard this table stays empty.
export const conversationShards = sqliteTable("conversation_shards", {
  conversationId: text("conversation_id").primaryKey(),
  shard: text("shard").notNull(),
  createdAt: integer("created_at").notNull().default(now),
});

export type UserRow = typeof users.$inferSelect;
export type MessageRow = typeof messages.$inferInsert;

// ---- social: friends, requests, blocks ----

// A friendship is two rows, one per direction (PROTOCOL.md, decision 12), so each side has its remark.
export const friends = sqliteTable(
  "friends",
  {
    userId: text("user_id").notNull(),
    friendId: text("friend_id").notNull(),
    remark: text("remark").notNull().default(""),
    addSource: integer("add_source").notNull().default(0),
    operatorUserId: text("operator_user_id").notNull().default(""),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.userId, t.friendId] })],
);

// status: 0 pending, 1 accepted, 2 rejected. One row per (from, to): a new request reuses it.
export const friendRequests = sqliteTable(
  "friend_requests",
  {
    fromUserId: text("from_user_id").notNull(),
    toUserId: text("to_user_id").notNull(),
    message: text("message").notNull().default(""),
    status: integer("status").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    primaryKey({ columns: [t.fromUserId, t.toUserId] }),
    index("friend_requests_to").on(t.toUserId, t.status),
  ],
);

export const blocks = sqliteTable(
  "blocks",
  {
    userId: text("user_id").notNull(),
    blockedId: text("blocked_id").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.userId, t.blockedId] })],
);

// ---- groups ----

/** A group's status: the SDK's values (http-api.md §3.3), in D1 and in the group's object. */
export const GroupStatus = { active: 0, dismissed: 1 } as const;
export type GroupStatus = (typeof GroupStatus)[keyof typeof GroupStatus];

export const groups = sqliteTable("groups", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  faceUrl: text("face_url").notNull().default(""),
  ownerId: text("owner_id").notNull(),
  introduction: text("introduction").notNull().default(""),
  notification: text("notification").notNull().default(""),
  extra: text("extra").notNull().default(""),
  status: integer("status").notNull().default(0),
  muteAll: integer("mute_all", { mode: "boolean" }).notNull().default(false),
  // How non-members come in: "open", "invite-only" or "approval" (group-access.ts).
  joinMode: text("join_mode").notNull().default("open"),
  memberCount: integer("member_count").notNull().default(0),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

// role: 0 member, 1 admin, 2 owner (the SDK's values). Only active members have rows: leaving or
// being kicked deletes the row (the group's conversation object keeps where each one left).
export const groupMembers = sqliteTable(
  "group_members",
  {
    groupId: text("group_id").notNull(),
    userId: text("user_id").notNull(),
    role: integer("role").notNull().default(0),
    groupNickname: text("group_nickname").notNull().default(""),
    mutedUntil: integer("muted_until").notNull().default(0),
    joinedAt: integer("joined_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index("group_members_user").on(t.userId)],
);

// ---- admin ----

// One row per call of the admin API (/api/admin/*) that passed its credential: what was done to
// what, with which parameters (never a password or token), from which address, and how it ended.
// Read newest first by GET /api/admin/audit.
export const adminAudit = sqliteTable("admin_audit", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  at: integer("at").notNull().default(now),
  // e.g. "user.ban", "message.remove": the route's name (src/worker/routes/admin/).
  action: text("action").notNull(),
  // What it acted on: a user, group or conversation id, "" when none.
  target: text("target").notNull().default(""),
  // JSON of the validated parameters, secrets left out.
  params: text("params").notNull().default("{}"),
  clientIp: text("client_ip").notNull().default(""),
  // 0 when it succeeded, else the envelope's code (400, 404, 500, ...); `outcome` says why.
  outcomeCode: integer("outcome_code").notNull(),
  outcome: text("outcome").notNull().default(""),
});

// ---- webhooks ----

// Events the team's receiver did not take after every retry (the webhook Queue's dead-letter queue,
// src/webhooks/dead-letters.ts): kept for an admin to read and send again
// (/api/admin/webhooks/dead-letters). The newest 10,000 are kept.
export const webhookDeadLetters = sqliteTable(
  "webhook_dead_letters",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    // The event's id (events.ts): a repeat from the Queue is one row.
    eventId: text("event_id").notNull(),
    event: text("event").notNull(),
    // The event as it was queued (JSON), content included: what a replay sends again.
    body: text("body").notNull(),
    at: integer("at").notNull().default(now),
  },
  (t) => [uniqueIndex("webhook_dead_letters_event_id").on(t.eventId)],
);

// ---- offline push (src/push/, docs/PUSH.md) ----

// A device's push token, one per login session: logout (or any end of the session) stops its pushes,
// and a token the provider calls dead is deleted. provider: "apns", "fcm" or "webhook"; app_id: the
// iOS bundle id (the apns-topic), the FCM project id, or the team's own app name. A token is unique
// per provider: registering it again (another login on the same phone) moves it.
export const pushDevices = sqliteTable(
  "push_devices",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    sessionId: text("session_id").notNull(),
    provider: text("provider").notNull(),
    token: text("token").notNull(),
    appId: text("app_id").notNull(),
    // APNs only: 1 for a development build, which the sandbox endpoint serves.
    sandbox: integer("sandbox").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("push_devices_token").on(t.provider, t.token),
    index("push_devices_user").on(t.userId),
    index("push_devices_session").on(t.sessionId),
  ],
);

// What the push consumer has sent or is sending: one row per (job, device), claimed (claimed_at)
// before the provider is called and marked sent (claimed_at null) once it accepted, so a retried,
// redelivered or duplicated job skips the devices that have it or that another copy is sending to. Rows older
// than a day are pruned by the consumer (a job is never redelivered that late).
export const pushDeliveries = sqliteTable(
  "push_deliveries",
  {
    jobId: text("job_id").notNull(),
    deviceId: text("device_id").notNull(),
    sentAt: integer("sent_at").notNull().default(now),
    /** Set while a consumer is sending to the device (its claim); null once the provider took it. */
    claimedAt: integer("claimed_at"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.deviceId] }), index("push_deliveries_sent_at").on(t.sentAt)],
);

// Chatrooms (docs/CHATROOMS.md): the list of rooms, for their creators' bound and for joins. A room's
// messages and listeners live in its ChatroomObject and relays, never here. `access`: "open" or
// "token" (a join token signed for the room is needed). A closed room keeps its row (closed_at set)
// and refuses joins; only open rooms count toward CHATROOMS_PER_USER.
export const chatrooms = sqliteTable(
  "chatrooms",
  {
    // ULID, like group ids.
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    creatorId: text("creator_id").notNull(),
    access: text("access").notNull().default("open"),
    createdAt: integer("created_at").notNull().default(now),
    closedAt: integer("closed_at"),
  },
  (t) => [index("chatrooms_creator_open").on(t.creatorId, t.closedAt)],
);
