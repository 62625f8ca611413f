// Friends, friend requests and blocks in D1, and the SDK's Friend JSON shape (http-api.md §3.2).
import { and, eq, or } from "drizzle-orm";
import { blocks, friendRequests, friends, users } from "../../schema/tables";
import type { FriendJson, FriendRequestJson } from "../protocol/http-shapes";
import type { Database } from "./client";

export type { FriendJson, FriendRequestJson };
import { toUserJson, type UserJson } from "./users";

export const RequestStatus = { pending: 0, accepted: 1, rejected: 2 } as const;

export async function friendsOf(db: Database, userId: string, friendId?: string): Promise<FriendJson[]> {
  const rows = await db
    .select({ friend: friends, user: users })
    .from(friends)
    .innerJoin(users, eq(users.id, friends.friendId))
    .where(
      friendId ? and(eq(friends.userId, userId), eq(friends.friendId, friendId)) : eq(friends.userId, userId),
    )
    .orderBy(friends.createdAt)
    .all();
  return rows.map(({ friend, user }) => ({
    friendUserID: friend.friendId,
    ownerUserID: friend.userId,
    remark: friend.remark,
    createTime: friend.createdAt,
    addSource: friend.addSource,
    operatorUserID: friend.operatorUserId,
    extra: "",
    user: toUserJson(user),
  }));
}

export async function areFriends(db: Database, userId: string, otherId: string): Promise<boolean> {
  const row = await db
    .select({ id: friends.friendId })
    .from(friends)
    .where(and(eq(friends.userId, userId), eq(friends.friendId, otherId)))
    .get();
  return row !== undefined;
}

export async function friendIds(db: Database, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: friends.friendId })
    .from(friends)
    .where(eq(friends.userId, userId))
    .all();
  return rows.map((r) => r.id);
}

/** Makes two users friends both ways and closes the request between them, in one batch. */
export async function befriend(db: Database, requester: string, accepter: string): Promise<void> {
  const now = Date.now();
  await db.batch([
    db
      .insert(friends)
      .values([
        { userId: requester, friendId: accepter, operatorUserId: accepter, createdAt: now },
        { userId: accepter, friendId: requester, operatorUserId: accepter, createdAt: now },
      ])
      .onConflictDoNothing(),
    db
      .update(friendRequests)
      .set({ status: RequestStatus.accepted, updatedAt: now })
      .where(
        or(
          and(eq(friendRequests.fromUserId, requester), eq(friendRequests.toUserId, accepter)),
          and(eq(friendRequests.fromUserId, accepter), eq(friendRequests.toUserId, requester)),
        ),
      ),
  ]);
}

export async function unfriend(db: Database, a: string, b: string): Promise<void> {
  await db
    .delete(friends)
    .where(
      or(
        and(eq(friends.userId, a), eq(friends.friendId, b)),
        and(eq(friends.userId, b), eq(friends.friendId, a)),
      ),
    );
}

/** The request from `from` to `to`, whatever its status (one row per pair), or undefined. */
export async function requestBetween(db: Database, from: string, to: string) {
  return db
    .select()
    .from(friendRequests)
    .where(and(eq(friendRequests.fromUserId, from), eq(friendRequests.toUserId, to)))
    .get();
}

export async function pendingRequest(db: Database, from: string, to: string) {
  return db
    .select()
    .from(friendRequests)
    .where(
      and(
        eq(friendRequests.fromUserId, from),
        eq(friendRequests.toUserId, to),
        eq(friendRequests.status, RequestStatus.pending),
      ),
    )
    .get();
}

/** Creates or renews the request from `from` to `to` (one row per pair). */
export async function upsertRequest(db: Database, from: string, to: string, message: string): Promise<void> {
  const now = Date.now();
  await db
    .insert(friendRequests)
    .values({
      fromUserId: from,
      toUserId: to,
      message,
      status: RequestStatus.pending,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: [friendRequests.fromUserId, friendRequests.toUserId],
      set: { message, status: RequestStatus.pending, updatedAt: now },
    });
}

export async function setRequestStatus(
  db: Database,
  from: string,
  to: string,
  status: number,
): Promise<void> {
  await db
    .update(friendRequests)
    .set({ status, updatedAt: Date.now() })
    .where(and(eq(friendRequests.fromUserId, from), eq(friendRequests.toUserId, to)));
}

/** Pending requests to the user (incoming) or from the user (outgoing), newest first. */
export async function requestsOf(
  db: Database,
  userId: string,
  direction: "incoming" | "outgoing",
): Promise<FriendRequestJson[]> {
  const incoming = direction === "incoming";
  const rows = await db
    .select({ request: friendRequests, user: users })
    .from(friendRequests)
    .innerJoin(users, eq(users.id, incoming ? friendRequests.fromUserId : friendRequests.toUserId))
    .where(
      and(
        eq(incoming ? friendRequests.toUserId : friendRequests.fromUserId, userId),
        eq(friendRequests.status, RequestStatus.pending),
      ),
    )
    .orderBy(friendRequests.updatedAt)
    .all();
  return rows.reverse().map(({ request, user }) => ({
    fromUserID: request.fromUserId,
    toUserID: request.toUserId,
    message: request.message,
    status: request.status,
    createTime: request.createdAt,
    updateTime: request.updatedAt,
    user: toUserJson(user),
  }));
}

export async function setRemark(
  db: Database,
  userId: string,
  friendId: string,
  remark: string,
): Promise<void> {
  await db
    .update(friends)
    .set({ remark })
    .where(and(eq(friends.userId, userId), eq(friends.friendId, friendId)));
}

export async function isBlocking(db: Database, userId: string, otherId: string): Promise<boolean> {
  const row = await db
    .select({ id: blocks.blockedId })
    .from(blocks)
    .where(and(eq(blocks.userId, userId), eq(blocks.blockedId, otherId)))
    .get();
  return row !== undefined;
}

export async function setBlock(
  db: Database,
  userId: string,
  otherId: string,
  blocked: boolean,
): Promise<void> {
  if (blocked) {
    await db.batch([
      db.insert(blocks).values({ userId, blockedId: otherId }).onConflictDoNothing(),
      // A blocked user's pending request is dropped.
      db
        .update(friendRequests)
        .set({ status: RequestStatus.rejected, updatedAt: Date.now() })
        .where(
          and(
            eq(friendRequests.fromUserId, otherId),
            eq(friendRequests.toUserId, userId),
            eq(friendRequests.status, RequestStatus.pending),
          ),
        ),
    ]);
  } else {
    await db.delete(blocks).where(and(eq(blocks.userId, userId), eq(blocks.blockedId, otherId)));
  }
}

export async function blockedUsers(db: Database, userId: string): Promise<UserJson[]> {
  const rows = await db
    .select({ user: users })
    .from(blocks)
    .innerJoin(users, eq(users.id, blocks.blockedId))
    .where(eq(blocks.userId, userId))
    .all();
  return rows.map((r) => toUserJson(r.user));
}

/**
 * Whether `userId` may get a typing status from `typist`: "unknown" when no active user has that
 * id, "blocked" when they block the typist. One read.
 */
export async function typingPeer(
  db: Database,
  userId: string,
  typist: string,
): Promise<"ok" | "unknown" | "blocked"> {
  const row = await db
    .select({ status: users.status, blocking: blocks.userId })
    .from(users)
    .leftJoin(blocks, and(eq(blocks.userId, users.id), eq(blocks.blockedId, typist)))
    .where(eq(users.id, userId))
    .get();
  if (!row || row.status !== 0) return "unknown";
  return row.blocking ? "blocked" : "ok";
}
