// Access tokens: HS256 JWTs (jose) naming the user in `sub` and the login session in `sid`. The Go
// server's claim names (`user_id`, `platform`) are kept too, so tokens read the same to tools
// written for it. A valid signature is never enough: callers check that the session still stands
// (sessions.ts), which is what lets a token live 30 days.
import { SignJWT, errors, jwtVerify } from "jose";

const ALGORITHM = "HS256";

export interface AccessClaims {
  userId: string;
  platform: string;
  /** The login session this token belongs to; revoking it ends the token. */
  sessionId: string;
}

export type VerifyResult =
  { ok: true; claims: AccessClaims; expiresAt: number } | { ok: false; reason: "expired" | "invalid" };

/** HMAC keys are derived once per isolate and secret. */
const keyCache = new Map<string, Uint8Array>();
function keyFor(secret: string): Uint8Array {
  let key = keyCache.get(secret);
  if (!key) {
    key = new TextEncoder().encode(secret);
    keyCache.set(secret, key);
  }
  return key;
}

export async function signAccessToken(
  secret: string,
  claims: AccessClaims,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: number }> {
  const issuedAt = Math.floor(Date.now() / 1000);
  const exp = issuedAt + ttlSeconds;
  const token = await new SignJWT({
    user_id: claims.userId,
    platform: claims.platform,
    sid: claims.sessionId,
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(exp)
    .sign(keyFor(secret));
  return { token, expiresAt: exp * 1000 };
}

/** Verifies signature, algorithm and time claims; never throws. */
export async function verifyAccessToken(secret: string, token: string): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, keyFor(secret), { algorithms: [ALGORITHM] });
    const { sub: userId, sid: sessionId } = payload;
    if (typeof userId !== "string" || userId.length === 0 || typeof payload.exp !== "number") {
      return { ok: false, reason: "invalid" };
    }
    // A token without a session could never be revoked: none is issued, none is honoured.
    if (typeof sessionId !== "string" || sessionId.length === 0) return { ok: false, reason: "invalid" };
    const platform = typeof payload.platform === "string" ? payload.platform : "";
    return { ok: true, claims: { userId, platform, sessionId }, expiresAt: payload.exp * 1000 };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? "expired" : "invalid" };
  }
}
