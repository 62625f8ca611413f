// Access tokens: HS256 JWTs (jose) naming the user in `sub`. The Go server's claim names
// (`user_id`, `platform`) are kept too, so tokens read the same to tools written for it.
import { SignJWT, errors, jwtVerify } from "jose";

const ALGORITHM = "HS256";

export interface AccessClaims {
  userId: string;
  platform: string;
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
  const token = await new SignJWT({ user_id: claims.userId, platform: claims.platform })
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
    const userId = payload.sub;
    if (typeof userId !== "string" || userId.length === 0 || typeof payload.exp !== "number") {
      return { ok: false, reason: "invalid" };
    }
    const platform = typeof payload.platform === "string" ? payload.platform : "";
    return { ok: true, claims: { userId, platform }, expiresAt: payload.exp * 1000 };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? "expired" : "invalid" };
  }
}
