// The upgrade the worker hands the UserObject once it has authenticated it: the headers it sets,
// and what the object answers.
import type { SocketState } from "./socket-state";

export const UPGRADE_HEADERS = {
  userId: "X-IM-User",
  /** The login session of the token (its `sid`): logout closes the sockets opened with it. */
  sessionId: "X-IM-Session",
  platform: "X-IM-Platform",
  deviceId: "X-IM-Device",
  subprotocol: "X-IM-Subprotocol",
} as const;

/** The subprotocol a browser client offers beside its `token.<JWT>` (PROTOCOL.md, decision 14). */
export const SUBPROTOCOL = "im.v1";

/** A new socket's state, from the headers of the worker's upgrade; null when they are not one. */
export function socketStateFromUpgrade(request: Request): SocketState | null {
  const userId = request.headers.get(UPGRADE_HEADERS.userId);
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !userId) return null;
  return {
    userId,
    platform: request.headers.get(UPGRADE_HEADERS.platform) ?? "",
    deviceId: request.headers.get(UPGRADE_HEADERS.deviceId) ?? "",
    sessionId: crypto.randomUUID(),
    loginSessionId: request.headers.get(UPGRADE_HEADERS.sessionId) ?? "",
    authed: false,
    openedAt: Date.now(),
    badFrames: 0,
  };
}

export function upgradeRefusal(status: 400 | 429, message: string): Response {
  return Response.json({ code: status, message }, { status });
}

/** The 101 answer, naming our subprotocol when the browser offered it. */
export function upgradeAccepted(request: Request, client: WebSocket): Response {
  const headers = new Headers();
  if (request.headers.get(UPGRADE_HEADERS.subprotocol)) headers.set("Sec-WebSocket-Protocol", SUBPROTOCOL);
  return new Response(null, { status: 101, webSocket: client, headers });
}
