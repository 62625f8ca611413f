// Named limits of the realtime protocol. Each cites where it comes from.

/** A frame over this closes the socket with 1009 (PROTOCOL.md, decision 1). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Default content limit when MESSAGE_MAX_BYTES is unset (PROTOCOL.md, decision 1: 64 KiB). */
export const DEFAULT_MESSAGE_MAX_BYTES = 64 * 1024;

/**
 * Frames one socket may have waiting (queued or being handled) at once, and their bytes. Frames are
 * handled one after another, so while one waits on another object a client can keep sending; past
 * either bound the socket is closed with 1008 instead of holding its frames in an isolate shared
 * with other objects. The SDK's largest bursts fit many times over: 100 MSG_ACKs for a BATCH_MSG,
 * one SYNC_RANGE per conversation with a hole after a reconnect (at most RANGE_SYNC_BURST, 1,000),
 * and its resends (50 sends of 64 KiB content are 3.3 MB, well under 16 MiB).
 */
export const MAX_QUEUED_FRAMES = 4_000;
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Consecutive text or undecodable frames before the socket is closed with 1008 (decision 3). */
export const MAX_CONSECUTIVE_BAD_FRAMES = 20;

/** Live sockets one user may hold at once, authenticated or not; the next upgrade gets 429. */
export const MAX_SOCKETS_PER_USER = 16;

/**
 * Chatroom sockets (/ws/chatroom/:id) one user may hold at once, across rooms; the next join is
 * refused with 429 before the upgrade. The user's object lists where each one is so it can close
 * them when the user's sessions end (src/objects/user/room-sockets.ts): the bound keeps that list,
 * and the calls an ended session makes, small.
 */
export const MAX_ROOM_SOCKETS_PER_USER = 16;

/** A socket that has not authenticated by then is closed with 1008 (decision 4). */
export const AUTH_TIMEOUT_MS = 10_000;

/** BATCH_SYNC and SYNC_RANGE page sizes (PROTOCOL.md, "Batch sync" and "Range sync"). */
export const DEFAULT_SYNC_COUNT = 100;
export const MAX_SYNC_COUNT = 500;

/**
 * Encoded-size budget for one sync response, kept under MAX_FRAME_BYTES with room for the
 * envelope, so no answer ever exceeds the frame limit (decision 9).
 */
export const SYNC_RESPONSE_BUDGET_BYTES = 900 * 1024;

/**
 * SYNC_RANGE requests one socket may send at once. After a reconnect the SDK asks one per
 * conversation with a hole, all together (IMMessageManager+MessageLoss.swift): as many as the
 * conversations a BATCH_SYNC may list (MAX_SYNC_CONVERSATIONS). Refilled at the request rate.
 */
export const RANGE_SYNC_BURST = 1_000;

/**
 * Heartbeats: the SDK sends one every 30 s and reconnects when one goes unanswered, so they cost
 * nothing up to this budget; a socket beating faster spends its request budget like any request.
 */
export const HEARTBEATS_PER_SECOND = 1;
export const HEARTBEAT_BURST = 10;

/** Longest client_msg_id accepted (a UUID is 36). */
export const MAX_CLIENT_MSG_ID_LENGTH = 64;

/** Largest `extra` / `attached_info` text on a message. */
export const MAX_MESSAGE_EXTRA_BYTES = 4 * 1024;

/** Close codes used by the server. */
export const CloseCode = {
  normal: 1000,
  policyViolation: 1008,
  tooBig: 1009,
  kicked: 4001,
} as const;
