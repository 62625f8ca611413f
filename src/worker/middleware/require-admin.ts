// The admin API's credential: `Authorization: Bearer <ADMIN_TOKEN>`, a secret of its own (never a
// user's token). Without ADMIN_TOKEN the admin API is off: every call is refused, never open.
import { createMiddleware } from "hono/factory";
import { clientAddress } from "../../auth/throttle";
import { ApiError, unauthorized } from "../../http/envelope";
import type { AppEnv } from "../types";
import { bearerToken } from "./require-auth";
import { logEvent } from "../../observability/log";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/**
 * Whether `given` is the admin token, in time that does not depend on where they differ: both are
 * hashed first, so the comparison also takes the same time whatever the lengths.
 */
export async function isAdminToken(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

export const requireAdmin = createMiddleware<AppEnv>(async function requireAdmin(c, next) {
  const expected = c.var.settings.adminToken;
  if (expected === null) throw new ApiError(403, "The admin API is disabled: ADMIN_TOKEN is not set");
  const given = bearerToken(c.req.header("Authorization"));
  if (!given) throw unauthorized("Missing admin credential");
  if (!(await isAdminToken(given, expected))) {
    // The address only: never what was sent, which may be a user's token or a near miss.
    logEvent("warn", "admin_credential_refused", {
      clientIp: clientAddress(c.req.raw),
      requestId: c.var.requestId,
    });
    throw unauthorized("Invalid admin credential");
  }
  await next();
});
