// GET /ws/chatroom/:id: a listener's socket to a room (docs/CHATROOMS.md). Authenticated as /ws is
// (the token from `?token=`, `Authorization: Bearer` or `Sec-WebSocket-Protocol: im.v1, token.<JWT>`,
// and its session must stand); then D1 says the room is open, a "token" room needs `?join=` (a join
// token signed for it), the room object picks the relay, and the upgrade goes to that relay with
// headers set here. A user holds at most MAX_ROOM_SOCKETS_PER_USER room sockets, listed with the
// user's object so an end of their sessions closes them. Refusals come before the upgrade, as JSON with their HTTP status (a browser's
// WebSocket sees only that the upgrade failed).
import { Hono, type Context } from "hono";
import { isJoinTokenFor } from "../../auth/chatroom-join-token";
import { verifyAccessToken } from "../../auth/jwt";
import { sessionRefusal, sessionVerdict } from "../../auth/sessions";
import { findOpenChatroom, toChatroomMeta } from "../../db/chatrooms";
import { database } from "../../db/client";
import { TransportError } from "../../http/envelope";
import { relayObjectName, roomObjectName } from "../../objects/chatroom/names";
import { ChatroomAccess } from "../../objects/chatroom/types";
import { RELAY_HEADERS } from "../../objects/chatroom/upgrade";
import { SUBPROTOCOL } from "../../objects/user/upgrade";
import type { UserObject } from "../../objects/user/user-object";
import { logEvent } from "../../observability/log";
import { isValidId } from "../../protocol/conversation-id";
import { bearerToken } from "../middleware/require-auth";
import type { AppEnv } from "../types";
import { tokenFromSubprotocols } from "./ws";

export const chatroomSocketRoute = new Hono<AppEnv>().get("/:id", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket")
    throw new TransportError(426, "Expected a WebSocket upgrade", { Upgrade: "websocket" });
  const subprotocolToken = tokenFromSubprotocols(c.req.header("Sec-WebSocket-Protocol"));
  const token = c.req.query("token") || bearerToken(c.req.header("Authorization")) || subprotocolToken;
  if (!token) throw new TransportError(401, "Missing token");
  const verified = await verifyAccessToken(c.var.settings.jwtSecret, token);
  if (!verified.ok)
    throw new TransportError(401, verified.reason === "expired" ? "Token expired" : "Invalid token");
  const { userId, sessionId } = verified.claims;
  // A slot in the user's list of room sockets, reserved BEFORE the session is read from D1: an end of
  // the session after that read finds the slot and closes the socket (src/objects/user/room-sockets.ts).
  const user = c.env.USER_OBJECT.getByName(userId);
  const reservation = await user.reserveRoomSocket(sessionId);
  if (!reservation.ok) throw new TransportError(429, reservation.message);
  let response: Response | null = null;
  try {
    response = await joinRoom(c, userId, sessionId, reservation.socketId, Boolean(subprotocolToken));
    return response;
  } finally {
    // Refused or failed: the slot is freed now rather than when its reservation runs out.
    if (response?.status !== 101) c.executionCtx.waitUntil(releaseSlot(user, reservation.socketId));
  }
});

async function releaseSlot(user: DurableObjectStub<UserObject>, socketId: string): Promise<void> {
  try {
    await user.roomSocketClosed(socketId);
  } catch (error) {
    logEvent("warn", "room_socket_release_failed", {}, error);
  }
}

/** The checks after the reservation, the room's admission, and the upgrade handed to the relay. */
async function joinRoom(
  c: Context<AppEnv>,
  userId: string,
  sessionId: string,
  socketId: string,
  subprotocol: boolean,
): Promise<Response> {
  const settings = c.var.settings;
  const db = database(c.env);
  const roomId = c.req.param("id") ?? "";
  // Two independent D1 reads at once: a join storm (thousands of listeners) waits on them.
  const [verdict, row] = await Promise.all([
    sessionVerdict(db, userId, sessionId),
    isValidId(roomId) ? findOpenChatroom(db, roomId) : undefined,
  ]);
  if (verdict !== "stands") throw new TransportError(401, sessionRefusal(verdict));
  if (!row) throw new TransportError(404, "Chatroom not found");
  if (row.access === ChatroomAccess.token) {
    const join = c.req.query("join");
    if (!join || !(await isJoinTokenFor(settings.jwtSecret, join, roomId)))
      throw new TransportError(403, "This chatroom needs a valid join token (?join=)");
  }
  const admission = await c.env.CHATROOM_OBJECT.getByName(roomObjectName(roomId)).admit(toChatroomMeta(row));
  if (!admission.ok) throw new TransportError(admission.status, admission.message);

  // Set here, after verification, overwriting anything the client sent.
  const headers = new Headers(c.req.raw.headers);
  headers.set(RELAY_HEADERS.userId, userId);
  headers.set(RELAY_HEADERS.sessionId, sessionId);
  headers.set(RELAY_HEADERS.roomId, roomId);
  headers.set(RELAY_HEADERS.relay, String(admission.relay));
  headers.set(RELAY_HEADERS.socketId, socketId);
  headers.set(RELAY_HEADERS.subprotocol, subprotocol ? SUBPROTOCOL : "");
  const relay = c.env.CHATROOM_RELAY.getByName(relayObjectName(roomId, admission.relay));
  return relay.fetch(new Request(c.req.raw.url, { headers }));
}
