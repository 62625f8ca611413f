// Throttles for password login, registration (PROTOCOL.md, decision 15) and friend requests. Login
// counts failed attempts only, per username and per client address, so a successful login is never
// slowed; registration counts every attempt per client address, at a generous limit; friend
// requests count each new request per sender.
import { ApiError } from "../http/envelope";
import type { Verdict } from "../objects/guard/guard-object";

/** Failed logins allowed per username, and per client address, in LOGIN_WINDOW_MS. */
export const LOGIN_FAILURES_PER_USERNAME = 10;
export const LOGIN_FAILURES_PER_ADDRESS = 50;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Registrations allowed per client address per minute. */
export const REGISTRATIONS_PER_ADDRESS = 300;
export const REGISTRATION_WINDOW_MS = 60 * 1000;

/**
 * The caller's address. Cloudflare sets CF-Connecting-IP and a client cannot override it there;
 * under `wrangler dev` every local client shares one address unless it sends the header.
 */
export function clientAddress(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}

/** The refusal of a throttled call: 429, with Retry-After and the wait in the message. */
export function throttled(verdict: Verdict, message: string): ApiError {
  return new ApiError(429, `${message}: try again in ${verdict.retryAfterSeconds} s`, {
    "Retry-After": String(verdict.retryAfterSeconds),
  });
}

function guard(env: Env, key: string) {
  return env.GUARD_OBJECT.getByName(key);
}

/** The worse of several verdicts: refused if any refuses, with the longest wait. */
function worst(verdicts: Verdict[]): Verdict {
  const refused = verdicts.filter((v) => !v.allowed);
  if (refused.length === 0) return { allowed: true, retryAfterSeconds: 0 };
  return { allowed: false, retryAfterSeconds: Math.max(...refused.map((v) => v.retryAfterSeconds)) };
}

export async function loginAllowed(env: Env, username: string, address: string): Promise<Verdict> {
  return worst(
    await Promise.all([
      guard(env, `login-user:${username}`).check(LOGIN_FAILURES_PER_USERNAME, LOGIN_WINDOW_MS),
      guard(env, `login-address:${address}`).check(LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW_MS),
    ]),
  );
}

export async function loginFailed(env: Env, username: string, address: string): Promise<void> {
  await Promise.all([
    guard(env, `login-user:${username}`).hit(LOGIN_FAILURES_PER_USERNAME, LOGIN_WINDOW_MS),
    guard(env, `login-address:${address}`).hit(LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW_MS),
  ]);
}

/** New friend requests per sender, counted in FRIEND_REQUEST_WINDOW_MS (limit: a setting). */
export const FRIEND_REQUEST_WINDOW_MS = 60 * 60 * 1000;

/** Counts one new friend request of `userId` if it fits the hour's budget. */
export async function friendRequestAllowed(env: Env, userId: string, perHour: number): Promise<Verdict> {
  return guard(env, `friend-request:${userId}`).take(perHour, FRIEND_REQUEST_WINDOW_MS);
}

export async function registrationAllowed(env: Env, address: string): Promise<Verdict> {
  return guard(env, `register-address:${address}`).take(REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW_MS);
}
