// Everything the UserObject knows about one socket, in one place:
// - what must survive hibernation is the attachment (SocketState), versioned so a deploy that adds
//   a field can still read the sockets an older deploy accepted;
// - what lives only while the object is awake (budgets, ack credit, pushes awaiting their acks, the
//   catch-up under way, the frames waiting) sits beside it in memory. A socket woken from
//   hibernation starts those afresh, which is safe: a socket only hibernates once it is idle, when
//   its acks have long arrived and its catch-up is over.
// Sockets carry no tags: what could be looked up by one (the platform, the login session) can change
// after the socket is accepted (CONNECT, AUTH), while tags cannot, and a user holds at most
// MAX_SOCKETS_PER_USER sockets, so a scan is short.
import type { FrameQueue } from "./frame-queue";
import type { TokenBucket } from "./token-bucket";
import { logEvent } from "../../observability/log";

export interface SocketState {
  userId: string;
  platform: string;
  deviceId: string;
  /** Unique per connection; names the device that sent a message so it gets no push of it. */
  sessionId: string;
  /** The login session of the token the socket was opened with; ending it closes the socket. */
  loginSessionId: string;
  authed: boolean;
  openedAt: number;
  /** Text or undecodable frames in a row (PROTOCOL.md, decision 3). */
  badFrames: number;
  /** When this socket last reported the user's sockets to the gauge (socket-report.ts); absent: never. */
  gaugeAt?: number;
  /** Protocol extensions the socket declared in AUTH (docs/RICH-MESSAGES.md); absent: none. */
  features?: string[];
}

/** The attachment's layout version; bump it (and add a step to `upgradeAttachment`) on a change. */
export const ATTACHMENT_VERSION = 1;

type Attachment = SocketState & { v: typeof ATTACHMENT_VERSION };

/**
 * Reads an attachment of any version this code knows. Version 0 (no `v`, written before the
 * attachment had a version) has the same fields as version 1. One from a newer deploy (this one was
 * rolled back to) is not trusted: the socket counts as not authenticated, so its next request is
 * refused until it authenticates again, and the alarm closes it if it never does.
 */
function upgradeAttachment(raw: unknown): SocketState {
  const stored = raw as Partial<Attachment>;
  if (stored.v === undefined || stored.v <= ATTACHMENT_VERSION) return stored as Attachment;
  logEvent("warn", "socket_attachment_newer", {
    reason: `version ${stored.v} > ${ATTACHMENT_VERSION}: re-authenticate`,
  });
  return { ...(stored as Attachment), authed: false, openedAt: 0 };
}

/** A socket's request budgets (dispatch.ts). */
export interface SocketBudgets {
  /** Requests that are not one of the kinds below (socketRequestsPerSecond, socketRequestBurst). */
  requests: TokenBucket;
  /** SYNC_RANGE: the SDK fills every conversation's hole at once after a reconnect. */
  rangeSyncs: TokenBucket;
  /** HEARTBEAT: free up to a budget no client beating every 30 s can reach. */
  heartbeats: TokenBucket;
}

/** Messages pushed to a socket and not yet acked, so its acks can be placed (device-cursors.ts). */
export interface PushesAwaitingAck {
  device: string;
  pushes: Map<string, { conversationId: string; seq: number }>;
}

/** What a live socket holds in memory beside its attachment. */
export interface LiveSocket {
  state: SocketState;
  /** Built on the socket's first frame (dispatch.ts). */
  budgets: SocketBudgets | null;
  /** Pushes it may still ack without spending its request budget (ack-credit.ts). */
  ackCredit: number;
  pushesAwaitingAck: PushesAwaitingAck | null;
  /** The catch-up pushing what its last BATCH_SYNC answer left out (sync-catch-up.ts). */
  catchUp: { cancelled: boolean } | null;
  /**
   * Its frames waiting to be handled, in arrival order, by the object instance that made the queue
   * (user-object.ts): a new instance of the object makes its own.
   */
  frames: { owner: object; queue: FrameQueue<string | ArrayBuffer> } | null;
}

const live = new WeakMap<WebSocket, LiveSocket>();

function remember(ws: WebSocket, state: SocketState): LiveSocket {
  const memory: LiveSocket = {
    state,
    budgets: null,
    ackCredit: 0,
    pushesAwaitingAck: null,
    catchUp: null,
    frames: null,
  };
  live.set(ws, memory);
  return memory;
}

/** The socket's memory, read from its attachment the first time it is asked after a wake. */
export function liveSocket(ws: WebSocket): LiveSocket {
  return live.get(ws) ?? remember(ws, upgradeAttachment(ws.deserializeAttachment()));
}

export function socketState(ws: WebSocket): SocketState {
  return liveSocket(ws).state;
}

export function saveSocketState(ws: WebSocket, state: SocketState): void {
  const attachment: Attachment = { ...state, v: ATTACHMENT_VERSION };
  ws.serializeAttachment(attachment);
  const found = live.get(ws);
  if (found) found.state = state;
  else remember(ws, state);
}

/** Sends a frame; a socket that is already closing just drops it. */
export function sendFrame(ws: WebSocket, bytes: Uint8Array): void {
  try {
    ws.send(bytes);
  } catch {
    // The peer went away between our read of the socket list and this send.
  }
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}
