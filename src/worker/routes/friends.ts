// /api/friend: requests, friendships (two-way once accepted) and blocks (http-api.md §2.7, plus
// the request list and blocks as extensions). The other user hears of each change through a
// notice in their system conversation (src/worker/notices.ts).
import { Hono, type Context } from "hono";
import { z } from "zod";
import { friendRequestAllowed, throttled } from "../../auth/throttle";
import { database } from "../../db/client";
import {
  areFriends,
  befriend,
  blockedUsers,
  friendsOf,
  isBlocking,
  pendingRequest,
  requestBetween,
  RequestStatus,
  requestsOf,
  setBlock,
  setRemark,
  setRequestStatus,
  unfriend,
  upsertRequest,
} from "../../db/social";
import { findUserById } from "../../db/users";
import { ApiError, badRequest, notFound, ok } from "../../http/envelope";
import { userIdField } from "../../http/schemas";
import { jsonBody, validated } from "../../http/validate";
import { singleConversationId } from "../../protocol/conversation-id";
import { requireAuth } from "../middleware/require-auth";
import { notifyUser } from "../notices";
import type { AppEnv } from "../types";

const Target = z.object({ userID: userIdField });
const AddBody = z.object({ userID: userIdField, message: z.string().max(256).default("") });
const RemarkBody = z.object({ userID: userIdField, remark: z.string().max(64) });
const RequestsQuery = z.object({ direction: z.enum(["incoming", "outgoing"]).default("incoming") });

/** The other user of a friend call: must exist and must not be the caller. */
async function otherUser(c: Context<AppEnv>, userId: string): Promise<string> {
  if (userId === c.var.userId) throw badRequest("userID: cannot be yourself");
  if (!(await findUserById(database(c.env), userId))) throw notFound("User not found");
  return userId;
}

async function friendView(c: Context<AppEnv>, friendId: string) {
  const [friend] = await friendsOf(database(c.env), c.var.userId, friendId);
  if (!friend) throw notFound("Not a friend");
  return friend;
}

/** Tells the one-to-one conversation so that its sends honour the block at once. */
async function syncBlock(c: Context<AppEnv>, otherId: string, blocked: boolean): Promise<void> {
  const conversationId = singleConversationId(c.var.userId, otherId);
  await c.env.CONVERSATION_OBJECT.getByName(conversationId).setBlocking(c.var.userId, blocked);
}

/**
 * Refuses (429, with Retry-After) a new request to a user who rejected the caller's last one within
 * the cooldown, or one past the sender's hourly budget; otherwise counts it in that budget.
 */
async function requestAllowed(c: Context<AppEnv>, me: string, other: string): Promise<void> {
  const { friendRequestCooldownSeconds, friendRequestsPerHour } = c.var.settings;
  const last = await requestBetween(database(c.env), me, other);
  if (last?.status === RequestStatus.rejected) {
    const waitMs = last.updatedAt + friendRequestCooldownSeconds * 1000 - Date.now();
    if (waitMs > 0) {
      const verdict = { allowed: false, retryAfterSeconds: Math.ceil(waitMs / 1000) };
      throw throttled(verdict, "this user declined your last friend request");
    }
  }
  const verdict = await friendRequestAllowed(c.env, me, friendRequestsPerHour);
  if (!verdict.allowed)
    throw throttled(verdict, `too many friend requests: at most ${friendRequestsPerHour} an hour`);
}

export const friendRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/add", async (c) => {
    const body = await jsonBody(c, AddBody);
    const me = c.var.userId;
    const other = await otherUser(c, body.userID);
    const db = database(c.env);
    if (await isBlocking(db, other, me))
      throw new ApiError(403, "this user does not accept friend requests from you");
    if (await isBlocking(db, me, other)) throw badRequest("you have blocked this user: unblock them first");
    if (await areFriends(db, me, other)) return ok(c, null, "already friends");
    // A repeat of a pending request changes nothing and tells the other user nothing new.
    if (await pendingRequest(db, me, other)) return ok(c, null, "friend request already sent");
    // Both want it: a request the other side already sent is accepted instead of crossed.
    if (await pendingRequest(db, other, me)) {
      await befriend(db, other, me);
      await notifyUser(c.env, other, { type: "friend_accepted", userID: me });
      return ok(c, null, "friend added");
    }
    await requestAllowed(c, me, other);
    await upsertRequest(db, me, other, body.message);
    await notifyUser(c.env, other, { type: "friend_request", fromUserID: me, message: body.message });
    return ok(c, null, "friend request sent");
  })
  .post("/accept", async (c) => {
    const { userID } = await jsonBody(c, Target);
    const me = c.var.userId;
    const db = database(c.env);
    if (!(await pendingRequest(db, userID, me))) throw notFound("No pending friend request from this user");
    await befriend(db, userID, me);
    await notifyUser(c.env, userID, { type: "friend_accepted", userID: me });
    return ok(c, await friendView(c, userID));
  })
  .post("/reject", async (c) => {
    const { userID } = await jsonBody(c, Target);
    const me = c.var.userId;
    const db = database(c.env);
    if (!(await pendingRequest(db, userID, me))) throw notFound("No pending friend request from this user");
    await setRequestStatus(db, userID, me, RequestStatus.rejected);
    await notifyUser(c.env, userID, { type: "friend_rejected", userID: me });
    return ok(c, null);
  })
  .post("/delete", async (c) => {
    const { userID } = await jsonBody(c, Target);
    const me = c.var.userId;
    const db = database(c.env);
    if (await areFriends(db, me, userID)) {
      await unfriend(db, me, userID);
      await notifyUser(c.env, userID, { type: "friend_deleted", userID: me });
    }
    return ok(c, null);
  })
  .get("/list", async (c) => ok(c, await friendsOf(database(c.env), c.var.userId)))
  .get("/check", async (c) => {
    // The SDK sends a JSON body on this GET; accept the query string first (http-api.md §1.2).
    const query = c.req.query("userID");
    const { userID } = query !== undefined ? validated(Target, { userID: query }) : await jsonBody(c, Target);
    return ok(c, await areFriends(database(c.env), c.var.userId, userID));
  })
  .post("/remark", async (c) => {
    const body = await jsonBody(c, RemarkBody);
    const db = database(c.env);
    if (!(await areFriends(db, c.var.userId, body.userID))) throw notFound("Not a friend");
    await setRemark(db, c.var.userId, body.userID, body.remark);
    return ok(c, await friendView(c, body.userID));
  })
  .get("/requests", async (c) => {
    const { direction } = validated(RequestsQuery, c.req.query());
    return ok(c, await requestsOf(database(c.env), c.var.userId, direction));
  })
  .post("/block", async (c) => {
    const { userID } = await jsonBody(c, Target);
    const other = await otherUser(c, userID);
    await setBlock(database(c.env), c.var.userId, other, true);
    await syncBlock(c, other, true);
    return ok(c, null);
  })
  .post("/unblock", async (c) => {
    const { userID } = await jsonBody(c, Target);
    const db = database(c.env);
    // Nothing blocked, nothing to undo: no conversation object is woken, or made, for any id.
    if (!(await isBlocking(db, c.var.userId, userID))) return ok(c, null);
    await setBlock(db, c.var.userId, userID, false);
    await syncBlock(c, userID, false);
    return ok(c, null);
  })
  .get("/blocks", async (c) => ok(c, await blockedUsers(database(c.env), c.var.userId)));
