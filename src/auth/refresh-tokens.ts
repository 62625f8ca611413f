// Refresh tokens (an extension): opaque random strings, stored only as SHA-256 in D1. A refresh
// rotates the token inside its family; presenting a token that was already used revokes the whole
// family, since only a thief or a replay would do that.
import { and, eq, isNull } from "drizzle-orm";
import { refreshTokens } from "../../schema/tables";
import type { Database } from "../db/client";

const TOKEN_BYTES = 32;

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function randomToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

export interface IssuedRefreshToken {
  token: string;
  expiresAt: number;
}

export async function issueRefreshToken(
  db: Database,
  userId: string,
  platform: string,
  ttlSeconds: number,
  familyId: string = crypto.randomUUID(),
): Promise<IssuedRefreshToken> {
  const token = randomToken();
  const expiresAt = Date.now() + ttlSeconds * 1000;
  await db.insert(refreshTokens).values({
    tokenHash: await sha256Hex(token),
    userId,
    familyId,
    platform,
    expiresAt,
  });
  return { token, expiresAt };
}

export type RotateResult =
  | { ok: true; userId: string; platform: string; sessionId: string; refresh: IssuedRefreshToken }
  | { ok: false; reason: "unknown" | "expired" | "revoked" }
  | { ok: false; reason: "reused"; userId: string; sessionId: string };

/** Exchanges a refresh token for a new one in the same family. */
export async function rotateRefreshToken(
  db: Database,
  token: string,
  ttlSeconds: number,
): Promise<RotateResult> {
  const hash = await sha256Hex(token);
  const row = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).get();
  if (!row) return { ok: false, reason: "unknown" };
  if (row.revokedAt !== null) return { ok: false, reason: "revoked" };
  if (row.expiresAt <= Date.now()) return { ok: false, reason: "expired" };
  // Mark it used only if nobody else did first: the conditional update is the race arbiter.
  const claimed = await db
    .update(refreshTokens)
    .set({ usedAt: Date.now() })
    .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.usedAt)))
    .returning({ hash: refreshTokens.tokenHash });
  if (claimed.length === 0) {
    await revokeFamily(db, row.familyId);
    return { ok: false, reason: "reused", userId: row.userId, sessionId: row.familyId };
  }
  const refresh = await issueRefreshToken(db, row.userId, row.platform, ttlSeconds, row.familyId);
  return { ok: true, userId: row.userId, platform: row.platform, sessionId: row.familyId, refresh };
}

export async function revokeFamily(db: Database, familyId: string): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: Date.now() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/** The session (family) of a refresh token of this user, or null. */
export async function sessionOfToken(db: Database, userId: string, token: string): Promise<string | null> {
  const row = await db
    .select({ familyId: refreshTokens.familyId, userId: refreshTokens.userId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, await sha256Hex(token)))
    .get();
  return row && row.userId === userId ? row.familyId : null;
}
