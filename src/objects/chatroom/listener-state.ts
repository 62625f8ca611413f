// What a relay knows about one listener socket. The attachment (survives hibernation) is who it is
// and where its acks stand; budgets, the frame queue and the last seq pushed to it live in memory
// and start afresh after a wake (an idle socket has nothing in flight).
import type { FrameQueue } from "../user/frame-queue";
import type { Incoming } from "./types";
import type { TokenBucket } from "../user/token-bucket";

export interface Listener {
  userId: string;
  /** The login session of the token the socket was opened with (checked again before it speaks). */
  sessionId: string;
  /** The highest seq the listener acknowledged (CHATROOM_ACK); at join, the room's newest. */
  ackedSeq: number;
  /** When its session was last found standing in D1 (speaker-check.ts). */
  checkedAt: number;
  /** Its entry in the user's list of room sockets (src/objects/user/room-sockets.ts); "" if none. */
  socketId: string;
}

/** The attachment's layout version; bump it on a change. */
const ATTACHMENT_VERSION = 2;
/** Version 1 had no socketId: such a socket was never listed with its user. */
const UNLISTED_VERSION = 1;

/** The tag a listener's socket is accepted with: a relay finds a user's sockets by it, awake or not. */
export function userTag(userId: string): string {
  return `u:${userId}`;
}

interface LiveListener {
  state: Listener;
  /** The highest seq pushed to it: a delivery it already has is not pushed again. */
  sentSeq: number;
  requests: TokenBucket | null;
  heartbeats: TokenBucket | null;
  /** HISTORY_REQ's own budget (relay-dispatch.ts). */
  history: TokenBucket | null;
  badFrames: number;
  frames: { owner: object; queue: FrameQueue<Incoming> } | null;
}

const live = new WeakMap<WebSocket, LiveListener>();

function remember(ws: WebSocket, state: Listener): LiveListener {
  const memory: LiveListener = {
    state,
    sentSeq: state.ackedSeq,
    requests: null,
    heartbeats: null,
    history: null,
    badFrames: 0,
    frames: null,
  };
  live.set(ws, memory);
  return memory;
}

export function liveListener(ws: WebSocket): LiveListener {
  const found = live.get(ws);
  if (found) return found;
  const stored = ws.deserializeAttachment() as (Listener & { v: number }) | null;
  // An attachment this code cannot read (none, or from a newer deploy): a listener with no rights.
  const state: Listener =
    stored && stored.v === ATTACHMENT_VERSION
      ? stored
      : stored && stored.v === UNLISTED_VERSION
        ? { ...stored, socketId: "" }
        : { userId: "", sessionId: "", ackedSeq: Number.MAX_SAFE_INTEGER, checkedAt: 0, socketId: "" };
  return remember(ws, state);
}

export function saveListener(ws: WebSocket, state: Listener): void {
  ws.serializeAttachment({ ...state, v: ATTACHMENT_VERSION });
  const found = live.get(ws);
  if (found) found.state = state;
  else remember(ws, state);
}
