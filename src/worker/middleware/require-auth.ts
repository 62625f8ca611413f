// Bearer-token authentication for HTTP routes: the acting user always comes from the token,
// never from the body (http-api.md §1.6).
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../../auth/jwt";
import { database } from "../../db/client";
import { isActiveUser } from "../../db/users";
import { unauthorized } from "../../http/envelope";
import type { AppEnv } from "../types";

/** Returns the token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([^\s]+)$/.exec(header.trim());
  return match?.[1] ?? null;
}

/** The user an access token names, once verified and still active; a 401 otherwise. */
export async function activeUserOf(c: Context<AppEnv>, token: string): Promise<string> {
  const result = await verifyAccessToken(c.var.settings.jwtSecret, token);
  if (!result.ok) throw unauthorized(result.reason === "expired" ? "Token expired" : "Invalid token");
  // A valid signature is not enough: the account may have been deleted or disabled since.
  if (!(await isActiveUser(database(c.env), result.claims.userId)))
    throw unauthorized("Account no longer active");
  return result.claims.userId;
}

export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  const header = c.req.header("Authorization");
  if (!header) throw unauthorized("Missing authorization header");
  const token = bearerToken(header);
  if (!token) throw unauthorized("Invalid authorization header format");
  c.set("userId", await activeUserOf(c, token));
  await next();
});
