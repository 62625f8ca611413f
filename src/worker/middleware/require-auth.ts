// Bearer-token authentication for HTTP routes: the acting user always comes from the token,
// never from the body (http-api.md §1.6).
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../../auth/jwt";
import { sessionRefusal, sessionVerdict } from "../../auth/sessions";
import { database } from "../../db/client";
import { unauthorized } from "../../http/envelope";
import type { AppEnv } from "../types";

/** Returns the token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([^\s]+)$/.exec(header.trim());
  return match?.[1] ?? null;
}

/** The user and session an access token names, once verified and still standing; a 401 otherwise. */
export async function activeUserOf(
  c: Context<AppEnv>,
  token: string,
): Promise<{ userId: string; sessionId: string }> {
  const result = await verifyAccessToken(c.var.settings.jwtSecret, token);
  if (!result.ok) throw unauthorized(result.reason === "expired" ? "Token expired" : "Invalid token");
  // A valid signature is not enough: the session may have ended, the account been disabled.
  const { userId, sessionId } = result.claims;
  const verdict = await sessionVerdict(database(c.env), userId, sessionId);
  if (verdict !== "stands") throw unauthorized(sessionRefusal(verdict));
  return { userId, sessionId };
}

export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  const header = c.req.header("Authorization");
  if (!header) throw unauthorized("Missing authorization header");
  const token = bearerToken(header);
  if (!token) throw unauthorized("Invalid authorization header format");
  const { userId, sessionId } = await activeUserOf(c, token);
  c.set("userId", userId);
  c.set("sessionId", sessionId);
  await next();
});
