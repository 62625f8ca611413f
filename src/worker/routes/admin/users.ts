// /api/admin/users: look a user up, ban and unban, end every session, reset a password, and list
// what a user sent (for a report). A ban or reset ends the user's sessions in D1 first, then
// closes their live sockets with KICK_OUT reason 2 (the same path as logout).
import { Hono, type Context } from "hono";
import { z } from "zod";
import { AccountStatus, type UserRow } from "../../../../schema/tables";
import { endLiveSessions } from "../../../auth/live-sessions";
import { hashPassword } from "../../../auth/passwords";
import { revokeAllSessions } from "../../../auth/sessions";
import { database } from "../../../db/client";
import { allShards } from "../../../db/history-shards";
import { messagesBySender, openSessionCount, type HistoryRow } from "../../../db/admin-reads";
import {
  findUserById,
  findUserByUsername,
  setAccountStatus,
  setPasswordHash,
  toUserJson,
} from "../../../db/users";
import { notFound, ok } from "../../../http/envelope";
import { passwordField, userIdField } from "../../../http/schemas";
import { jsonBody, validated } from "../../../http/validate";
import type { UserJson } from "../../../protocol/http-shapes";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";

/** Largest page of a user's messages. */
export const MAX_MESSAGE_PAGE = 200;

export interface AdminUserJson {
  user: UserJson;
  username: string;
  status: "active" | "banned";
  /** Sessions not ended (by logout, a password change or an admin). */
  openSessions: number;
}

export interface AdminMessageJson {
  conversationID: string;
  seq: number;
  serverMsgID: string;
  clientMsgID: string;
  senderID: string;
  conversationType: number;
  messageType: number;
  /** The content as UTF-8 text, or null when it is not text (then read contentBase64). */
  text: string | null;
  contentBase64: string;
  sendTime: number;
  serverTime: number;
  isRevoked: boolean;
  revokedBy: string;
}

const ByUsernameQuery = z.object({ username: z.string().trim().toLowerCase().min(1).max(64) });
const BanBody = z.object({ reason: z.string().trim().max(500).default("") });
const PasswordBody = z.object({ newPassword: passwordField });
const MessagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_MESSAGE_PAGE).default(50),
  // The previous page's `next`: "<serverTime>.<serverMsgID>".
  before: z
    .string()
    .regex(/^\d{1,16}\.[A-Za-z0-9-]{1,64}$/, "must be the `next` of the previous page")
    .optional(),
});

/** The user the path names, noted for the audit row before anything can fail. */
function targetUser(c: Context<AppEnv>, params: Record<string, unknown> = {}): string {
  const userId = validated(userIdField, c.req.param("userID"));
  noteAudit(c, userId, params);
  return userId;
}

async function adminUserJson(c: Context<AppEnv>, row: UserRow | undefined): Promise<AdminUserJson> {
  if (!row) throw notFound("User not found");
  return {
    user: toUserJson(row),
    username: row.username,
    status: row.status === AccountStatus.active ? "active" : "banned",
    openSessions: await openSessionCount(database(c.env), row.id),
  };
}

/** Ends every session of the user in D1, then closes their sockets (KICK_OUT reason 2). */
async function endEverySession(c: Context<AppEnv>, userId: string, why: "ended" | "banned"): Promise<void> {
  await revokeAllSessions(database(c.env), userId);
  await endLiveSessions(c.env, userId, null, { why });
}

async function setStatus(c: Context<AppEnv>, userId: string, status: AccountStatus): Promise<void> {
  if (!(await setAccountStatus(database(c.env), userId, status))) throw notFound("User not found");
}

function toMessageJson(row: HistoryRow): AdminMessageJson {
  let text: string | null;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(row.content);
  } catch {
    text = null;
  }
  return {
    conversationID: row.conversationId,
    seq: row.seq,
    serverMsgID: row.serverMsgId,
    clientMsgID: row.clientMsgId,
    senderID: row.senderId,
    conversationType: row.conversationType,
    messageType: row.messageType,
    text,
    contentBase64: btoa(Array.from(row.content, (byte) => String.fromCharCode(byte)).join("")),
    sendTime: row.sendTime,
    serverTime: row.serverTime,
    isRevoked: row.isRevoked,
    revokedBy: row.revokedBy,
  };
}

export const adminUserRoutes = new Hono<AppEnv>()
  .get("/", audited("user.find"), async (c) => {
    const { username } = validated(ByUsernameQuery, c.req.query());
    noteAudit(c, username, { username });
    return ok(c, await adminUserJson(c, await findUserByUsername(database(c.env), username)));
  })
  .get("/:userID", audited("user.get"), async (c) => {
    const userId = targetUser(c);
    return ok(c, await adminUserJson(c, await findUserById(database(c.env), userId)));
  })
  .post("/:userID/ban", audited("user.ban"), async (c) => {
    const userId = targetUser(c);
    const { reason } = await jsonBody(c, BanBody);
    noteAudit(c, userId, { reason });
    // The status first: from here on no login, refresh, upgrade or call of this user is honoured.
    await setStatus(c, userId, AccountStatus.banned);
    await endEverySession(c, userId, "banned");
    return ok(c, null);
  })
  .post("/:userID/unban", audited("user.unban"), async (c) => {
    // The sessions the ban ended stay ended: the user logs in again.
    await setStatus(c, targetUser(c), AccountStatus.active);
    return ok(c, null);
  })
  .post("/:userID/logout", audited("user.logout"), async (c) => {
    const userId = targetUser(c);
    if (!(await findUserById(database(c.env), userId))) throw notFound("User not found");
    await endEverySession(c, userId, "ended");
    return ok(c, null);
  })
  .post("/:userID/password", audited("user.password"), async (c) => {
    const userId = targetUser(c);
    const { newPassword } = await jsonBody(c, PasswordBody); // never noted: the audit keeps no secret
    const db = database(c.env);
    if (!(await findUserById(db, userId))) throw notFound("User not found");
    await setPasswordHash(db, userId, await hashPassword(newPassword, c.var.settings.bcryptCost));
    // Whoever holds the old password's sessions loses them.
    await endEverySession(c, userId, "ended");
    return ok(c, null);
  })
  .get("/:userID/messages", audited("user.messages"), async (c) => {
    const userId = targetUser(c);
    const query = validated(MessagesQuery, c.req.query());
    noteAudit(c, userId, query);
    const [time, id] = query.before?.split(".") ?? [];
    const before = time && id ? { serverTime: Number(time), serverMsgId: id } : null;
    const rows = await messagesBySender(allShards(c.env, c.var.settings), userId, before, query.limit);
    const last = rows.at(-1);
    return ok(c, {
      messages: rows.map(toMessageJson),
      // The cursor of the next (older) page; null on the last page.
      next: last && rows.length === query.limit ? `${last.serverTime}.${last.serverMsgId}` : null,
    });
  });
