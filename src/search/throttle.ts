// Searches per user (GuardObject `search-user:<id>`): D1 runs one query at a time, and a search
// may hold it for tens of milliseconds, so one user typing into a search box, or a script, must not
// take it from everyone else. Counted per minute in a sliding window; a refused search is not
// counted, so a client that waits as told gets through.
import { throttled } from "../auth/throttle";

/** The window SEARCHES_PER_MINUTE is counted in. */
export const SEARCH_WINDOW_MS = 60 * 1000;

/** Counts one search of `userId`, or throws the 429 refusal (with Retry-After) past the minute's budget. */
export async function takeSearch(env: Env, userId: string, perMinute: number): Promise<void> {
  const verdict = await env.GUARD_OBJECT.getByName(`search-user:${userId}`).take(perMinute, SEARCH_WINDOW_MS);
  if (!verdict.allowed) throw throttled(verdict, `too many searches: at most ${perMinute} a minute`);
}
