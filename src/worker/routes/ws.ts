// GET /ws: authenticates the WebSocket upgrade and hands it to the caller's UserObject.
// The token comes from `?token=` (the SDK), `Authorization: Bearer`, or the browser form
// `Sec-WebSocket-Protocol: im.v1, token.<JWT>` (PROTOCOL.md, "Transport" and decision 14).
import { Hono } from "hono";
import { verifyAccessToken } from "../../auth/jwt";
import { sessionRefusal, sessionVerdict } from "../../auth/sessions";
import { database } from "../../db/client";
import { TransportError, unauthorized } from "../../http/envelope";
import { UPGRADE_HEADERS, SUBPROTOCOL } from "../../objects/user/upgrade";
import { bearerToken } from "../middleware/require-auth";
import type { AppEnv } from "../types";

const TOKEN_PROTOCOL_PREFIX = "token.";

export function tokenFromSubprotocols(header: string | undefined): string | null {
  if (!header) return null;
  const offered = header.split(",").map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  return token ? token.slice(TOKEN_PROTOCOL_PREFIX.length) : null;
}

export const wsRoute = new Hono<AppEnv>().get("/", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new TransportError(426, "Expected a WebSocket upgrade", { Upgrade: "websocket" });
  }
  const subprotocolToken = tokenFromSubprotocols(c.req.header("Sec-WebSocket-Protocol"));
  const token = c.req.query("token") || bearerToken(c.req.header("Authorization")) || subprotocolToken;
  if (!token) throw unauthorized("Missing token");
  const verified = await verifyAccessToken(c.var.settings.jwtSecret, token);
  if (!verified.ok) throw unauthorized(verified.reason === "expired" ? "Token expired" : "Invalid token");

  const { userId, sessionId } = verified.claims;
  const verdict = await sessionVerdict(database(c.env), userId, sessionId);
  if (verdict !== "stands") throw unauthorized(sessionRefusal(verdict));
  // These headers are set here, after verification, and overwrite anything the client sent.
  const headers = new Headers(c.req.raw.headers);
  headers.set(UPGRADE_HEADERS.userId, userId);
  headers.set(UPGRADE_HEADERS.sessionId, sessionId);
  headers.set(UPGRADE_HEADERS.platform, (c.req.query("platform") || verified.claims.platform).slice(0, 32));
  headers.set(UPGRADE_HEADERS.deviceId, (c.req.query("device_id") ?? "").slice(0, 64));
  headers.set(UPGRADE_HEADERS.subprotocol, subprotocolToken ? SUBPROTOCOL : "");
  const stub = c.env.USER_OBJECT.getByName(userId);
  return stub.fetch(new Request(c.req.raw.url, { headers }));
});
