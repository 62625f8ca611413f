// GET /ws/chatroom/:id: a listener's socket to a room (docs/CHATROOMS.md). Authenticated as /ws is
// (the token from `?token=`, `Authorization: Bearer` or `Sec-WebSocket-Protocol: im.v1, token.<JWT>`,
// and its session must stand); then D1 says the room is open, a "token" room needs `?join=` (a join
// token signed for it), the room object picks the relay, and the upgrade goes to that relay with
// headers set here. Refusals come before the upgrade, as JSON with their HTTP status (a browser's
// WebSocket sees only that the upgrade failed).
import { Hono } from "hono";
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
  const settings = c.var.settings;
  const verified = await verifyAccessToken(settings.jwtSecret, token);
  if (!verified.ok)
    throw new TransportError(401, verified.reason === "expired" ? "Token expired" : "Invalid token");
  const { userId, sessionId } = verified.claims;
  const db = database(c.env);
  const roomId = c.req.param("id");
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
  headers.set(RELAY_HEADERS.subprotocol, subprotocolToken ? SUBPROTOCOL : "");
  const relay = c.env.CHATROOM_RELAY.getByName(relayObjectName(roomId, admission.relay));
  return relay.fetch(new Request(c.req.raw.url, { headers }));
});
