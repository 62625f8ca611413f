// The upgrade the worker hands a relay once it has authenticated the listener and the room has
// admitted it (src/worker/routes/chatroom-socket.ts): headers set by the worker, overwriting the
// client's.
export const RELAY_HEADERS = {
  userId: "X-IM-User",
  sessionId: "X-IM-Session",
  roomId: "X-IM-Room",
  relay: "X-IM-Relay",
  /** The slot the user's object reserved for this socket (src/objects/user/room-sockets.ts). */
  socketId: "X-IM-Room-Socket",
  subprotocol: "X-IM-Subprotocol",
} as const;

export interface RelayUpgrade {
  userId: string;
  sessionId: string;
  roomId: string;
  relay: number;
  socketId: string;
  subprotocol: string;
}

export function relayUpgradeOf(request: Request): RelayUpgrade | null {
  const h = request.headers;
  const userId = h.get(RELAY_HEADERS.userId);
  const roomId = h.get(RELAY_HEADERS.roomId);
  const relay = Number(h.get(RELAY_HEADERS.relay));
  const socketId = h.get(RELAY_HEADERS.socketId);
  if (
    h.get("Upgrade")?.toLowerCase() !== "websocket" ||
    !userId ||
    !roomId ||
    !socketId ||
    !Number.isInteger(relay)
  )
    return null;
  return {
    userId,
    sessionId: h.get(RELAY_HEADERS.sessionId) ?? "",
    roomId,
    relay,
    socketId,
    subprotocol: h.get(RELAY_HEADERS.subprotocol) ?? "",
  };
}
