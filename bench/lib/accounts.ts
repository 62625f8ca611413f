// Accounts for the benchmark: real ones through the HTTP API (register, then login, as the SDK's
// app does), and for the connection scenario, registered users whose access tokens are signed with
// the local dev secret instead of a login (a second bcrypt per user would only slow the set-up).
// Each account registers from its own client address (CF-Connecting-IP), as real users would, so
// the per-address registration limit does not apply to the benchmark as a whole.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { root } from "./server.ts";
import { mapLimited } from "./stats.ts";

export interface Account {
  userId: string;
  token: string;
}

interface Envelope<T> {
  code: number;
  message: string;
  data: T;
}

/** A distinct documentation-range-like address per account index (10.x.y.z). */
function addressOf(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
}

let accountIndex = 0;

async function post<T>(origin: string, path: string, body: unknown, address: string): Promise<T> {
  const response = await fetch(`${origin}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": address },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const envelope = (await response.json()) as Envelope<T>;
  if (envelope.code !== 0) throw new Error(`${path}: ${envelope.code} ${envelope.message}`);
  return envelope.data;
}

/** A short random tag so usernames never collide, even against a reused database. */
const runTag = randomBytes(3).toString("hex");

export async function registerAccounts(origin: string, count: number, label: string): Promise<Account[]> {
  const password = "bench-password";
  return mapLimited(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const username = `b${runTag}${label}${i}`;
      const address = addressOf(accountIndex++);
      await post(origin, "/api/auth/register", { username, password }, address);
      const login = await post<{ token: string; userID: string }>(
        origin,
        "/api/auth/login",
        { username, password, platform: "bench" },
        address,
      );
      return { userId: login.userID, token: login.token };
    },
  );
}

/** JWT_SECRET from .dev.vars, which scripts/dev.mjs writes before it starts wrangler dev. */
function devSecret(): string {
  const text = readFileSync(join(root, ".dev.vars"), "utf8");
  const match = /^JWT_SECRET=(.+)$/m.exec(text);
  if (!match) throw new Error(".dev.vars has no JWT_SECRET");
  return (match[1] as string).trim();
}

/**
 * Registered users with tokens signed locally, with the same claims login issues (src/auth/jwt.ts):
 * sub, user_id, platform, iat, exp. The server checks that a token's user exists, so each is
 * registered first.
 */
export async function mintAccounts(origin: string, count: number, label: string): Promise<Account[]> {
  const key = new TextEncoder().encode(devSecret());
  const now = Math.floor(Date.now() / 1000);
  const userIds = await mapLimited(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) =>
      (
        await post<{ userID: string }>(
          origin,
          "/api/auth/register",
          { username: `b${runTag}${label}${i}`, password: "bench-password" },
          addressOf(accountIndex++),
        )
      ).userID,
  );
  const accounts: Account[] = [];
  for (const userId of userIds) {
    const token = await new SignJWT({ user_id: userId, platform: "bench" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(userId)
      .setIssuedAt(now)
      .setExpirationTime(now + 3_600)
      .sign(key);
    accounts.push({ userId, token });
  }
  return accounts;
}
