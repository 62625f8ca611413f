// Closing the live sockets of sessions already ended in D1 (logout, password change, refresh-token
// reuse, the admin API): a revoked session must stop reading at once, not at its next reconnect.
import type { SessionEnd } from "../objects/user/kick-out";
import { logEvent } from "../observability/log";

/**
 * Closes the user's live sockets of the ended sessions (all of them when `sessionIds` is null,
 * but `keep`) with KICK_OUT reason 2. The sessions are already revoked in D1, so a failure here
 * does not fail the call (a retry would find the token refused): those sockets are refused at
 * their next AUTH or upgrade instead.
 */
export async function endLiveSessions(
  env: Env,
  userId: string,
  sessionIds: readonly string[] | null,
  options: { keep?: string; why?: SessionEnd } = {},
): Promise<void> {
  try {
    await env.USER_OBJECT.getByName(userId).endSessions(sessionIds, options.keep ?? null, options.why);
  } catch (error) {
    logEvent("error", "ended_sessions_close_failed", { userId }, error);
  }
}
