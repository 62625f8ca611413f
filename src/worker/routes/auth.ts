// /api/auth: register, login, refresh (extension), logout (extension) and password change (extension).
import { Hono } from "hono";
import { ulid } from "ulid";
import { z } from "zod";
import { AccountStatus, users } from "../../../schema/tables";
import { signAccessToken } from "../../auth/jwt";
import { hashPassword, verifyPassword } from "../../auth/passwords";
import { issueRefreshToken, rotateRefreshToken, sessionOfToken } from "../../auth/refresh-tokens";
import {
  revokeAllSessions,
  revokeSession,
  sessionRefusal,
  sessionVerdict,
  startSession,
} from "../../auth/sessions";
import { database } from "../../db/client";
import { findUserById, findUserByUsername, setPasswordHash, toUserJson, type UserJson } from "../../db/users";
import type { LoginResult } from "../../protocol/http-shapes";
import { ApiError, CredentialsRefused, ok, unauthorized } from "../../http/envelope";
import { passwordField } from "../../http/schemas";
import { jsonBody } from "../../http/validate";
import type { Settings } from "../../config/settings";
import {
  clientAddress,
  loginAllowed,
  loginFailed,
  registrationAllowed,
  throttled,
} from "../../auth/throttle";
import type { Verdict } from "../../objects/guard/guard-object";
import { endLiveSessions } from "../../auth/live-sessions";
import { forgetPushDevices } from "./push";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";
import { enqueueOrLog, userRegisteredEvent, wants } from "../../webhooks/events";

/** Usernames are case-insensitive: stored lower-case, 3–32 of letters, digits, ".", "-", "_". */
const username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9._-]{2,31}$/,
    "must be 3-32 letters, digits, '.', '-' or '_', starting with a letter or digit",
  );
const platform = z.string().trim().max(32).default("");

const RegisterBody = z.object({
  username,
  password: passwordField,
  nickname: z.string().trim().max(64).optional(),
});
const LoginBody = z.object({ username, password: z.string().min(1).max(1024), platform });
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(256) });
const LogoutBody = z.object({
  refreshToken: z.string().min(1).max(256).optional(),
  all: z.boolean().optional(),
});
const PasswordBody = z.object({ oldPassword: z.string().min(1).max(1024), newPassword: passwordField });

function refuseWhenThrottled(verdict: Verdict, message: string): void {
  if (!verdict.allowed) throw throttled(verdict, message);
}

async function issueSession(
  settings: Settings,
  env: Env,
  user: UserJson,
  platformName: string,
): Promise<LoginResult> {
  const db = database(env);
  const sessionId = await startSession(db, user.userID, platformName);
  const access = await signAccessToken(
    settings.jwtSecret,
    { userId: user.userID, platform: platformName, sessionId },
    settings.accessTokenTtlSeconds,
  );
  // The refresh family is the session: revoking one revokes the other.
  const refresh = await issueRefreshToken(
    db,
    user.userID,
    platformName,
    settings.refreshTokenTtlSeconds,
    sessionId,
  );
  return {
    token: access.token,
    userID: user.userID,
    user,
    expiresAt: access.expiresAt,
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt,
  };
}

export const auth = new Hono<AppEnv>()
  .post("/register", async (c) => {
    const body = await jsonBody(c, RegisterBody);
    refuseWhenThrottled(await registrationAllowed(c.env, clientAddress(c.req.raw)), "Too many registrations");
    const db = database(c.env);
    const passwordHash = await hashPassword(body.password, c.var.settings.bcryptCost);
    const now = Date.now();
    const inserted = await db
      .insert(users)
      .values({
        id: ulid(),
        username: body.username,
        nickname: body.nickname || body.username,
        passwordHash,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: users.username })
      .returning();
    const row = inserted[0];
    if (!row) throw new ApiError(409, "username already exists");
    if (wants(c.var.settings.webhook, "user_registered"))
      await enqueueOrLog(c.env.WEBHOOK_QUEUE, userRegisteredEvent(row), { userId: row.id });
    return ok(c, toUserJson(row));
  })
  .post("/login", async (c) => {
    const body = await jsonBody(c, LoginBody);
    const address = clientAddress(c.req.raw);
    refuseWhenThrottled(await loginAllowed(c.env, body.username, address), "Too many failed logins");
    const row = await findUserByUsername(database(c.env), body.username);
    const valid = await verifyPassword(body.password, row?.passwordHash, c.var.settings.bcryptCost);
    if (!row || !valid) {
      await loginFailed(c.env, body.username, address);
      throw new CredentialsRefused("Invalid username or password");
    }
    // Said only to whoever knows the password: a ban is no secret from its owner.
    if (row.status !== AccountStatus.active) throw new ApiError(403, "This account is banned");
    return ok(c, await issueSession(c.var.settings, c.env, toUserJson(row), body.platform));
  })
  .post("/refresh", async (c) => {
    const body = await jsonBody(c, RefreshBody);
    const db = database(c.env);
    const rotated = await rotateRefreshToken(db, body.refreshToken, c.var.settings.refreshTokenTtlSeconds);
    if (!rotated.ok) {
      if (rotated.reason !== "reused") throw unauthorized("Invalid refresh token");
      // A replayed refresh token means it was stolen: the whole session ends, its access tokens and
      // live sockets with it, whoever holds them.
      await revokeSession(db, rotated.userId, rotated.sessionId);
      await endLiveSessions(c.env, rotated.userId, [rotated.sessionId]);
      throw unauthorized("Refresh token reuse detected; session revoked");
    }
    const row = await findUserById(db, rotated.userId);
    if (!row) throw unauthorized("Invalid refresh token");
    const verdict = await sessionVerdict(db, row.id, rotated.sessionId);
    if (verdict !== "stands") throw unauthorized(sessionRefusal(verdict));
    const access = await signAccessToken(
      c.var.settings.jwtSecret,
      { userId: row.id, platform: rotated.platform, sessionId: rotated.sessionId },
      c.var.settings.accessTokenTtlSeconds,
    );
    const result: LoginResult = {
      token: access.token,
      userID: row.id,
      user: toUserJson(row),
      expiresAt: access.expiresAt,
      refreshToken: rotated.refresh.token,
      refreshExpiresAt: rotated.refresh.expiresAt,
    };
    return ok(c, result);
  })
  .post("/logout", requireAuth, async (c) => {
    const body = await jsonBody(c, LogoutBody);
    const db = database(c.env);
    const { userId, sessionId } = c.var;
    const ended = [sessionId];
    if (body.all) await revokeAllSessions(db, userId);
    else {
      await revokeSession(db, userId, sessionId);
      const named = body.refreshToken ? await sessionOfToken(db, userId, body.refreshToken) : null;
      if (named && named !== sessionId) {
        await revokeSession(db, userId, named);
        ended.push(named);
      }
    }
    await endLiveSessions(c.env, userId, body.all ? null : ended);
    // A logged-out device gets no more pushes (its session's token is gone).
    await forgetPushDevices(c.env, userId, body.all ? null : ended);
    return ok(c, null);
  })
  .post("/password", requireAuth, async (c) => {
    const body = await jsonBody(c, PasswordBody);
    const db = database(c.env);
    const { userId, sessionId, settings } = c.var;
    const row = await findUserById(db, userId);
    if (!row || !(await verifyPassword(body.oldPassword, row.passwordHash, settings.bcryptCost))) {
      throw new ApiError(403, "the current password is wrong");
    }
    await setPasswordHash(db, userId, await hashPassword(body.newPassword, settings.bcryptCost));
    // Whoever else holds a token of this account loses it; the caller keeps this session.
    await revokeAllSessions(db, userId, sessionId);
    await endLiveSessions(c.env, userId, null, { keep: sessionId });
    return ok(c, null);
  });
