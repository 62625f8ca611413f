// Login sessions (D1 `sessions`). An access token names its session in `sid`; a token is honoured
// only while its user is active and its session stands, so logout, a password change or an admin
// ends a session at once, however long the token itself would live (http-api.md §1.6).
import { and, eq, isNull, ne } from "drizzle-orm";
import { AccountStatus, refreshTokens, sessions, users } from "../../schema/tables";
import type { Database } from "../db/client";

/** Starts a session for a login; its id goes into every access token issued for it. */
export async function startSession(db: Database, userId: string, platform: string): Promise<string> {
  const id = crypto.randomUUID();
  await db.insert(sessions).values({ id, userId, platform });
  return id;
}

/** Whether a session is honoured: it stands, it ended (logout, password change), or its account is banned. */
export type SessionVerdict = "stands" | "ended" | "banned";

/**
 * Whether a token of `userId` naming session `sessionId` is still honoured: one indexed read
 * that also covers a banned or deleted account.
 */
export async function sessionVerdict(
  db: Database,
  userId: string,
  sessionId: string,
): Promise<SessionVerdict> {
  const row = await db
    .select({ status: users.status, revokedAt: sessions.revokedAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
    .get();
  if (row === undefined) return "ended";
  if (row.status !== AccountStatus.active) return "banned";
  return row.revokedAt === null ? "stands" : "ended";
}

/** What a client is told when its token's session is not honoured. */
export function sessionRefusal(verdict: Exclude<SessionVerdict, "stands">): string {
  return verdict === "banned" ? "Account banned" : "Session ended";
}

/** Ends one session of the user, and the refresh tokens of its family. */
export async function revokeSession(db: Database, userId: string, sessionId: string): Promise<void> {
  const at = Date.now();
  await db.batch([
    db
      .update(sessions)
      .set({ revokedAt: at })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt))),
    db
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(
        and(
          eq(refreshTokens.familyId, sessionId),
          eq(refreshTokens.userId, userId),
          isNull(refreshTokens.revokedAt),
        ),
      ),
  ]);
}

/** Ends every session of the user (but `keep`, when given), with their refresh tokens. */
export async function revokeAllSessions(db: Database, userId: string, keep?: string): Promise<void> {
  const at = Date.now();
  const others = keep === undefined ? undefined : ne(sessions.id, keep);
  const otherFamilies = keep === undefined ? undefined : ne(refreshTokens.familyId, keep);
  await db.batch([
    db
      .update(sessions)
      .set({ revokedAt: at })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), others)),
    db
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt), otherFamilies)),
  ]);
}
