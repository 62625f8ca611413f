// Accounts for the benchmark, through the HTTP API: register, then login, as the SDK's app does
// (every token names a login session the server checks; the bench's server hashes with bcrypt cost
// 4, so a login is cheap). Each account registers from its own client address (CF-Connecting-IP), as
// real users would, so the per-address registration limit does not apply to the benchmark as a whole.
import { randomBytes } from "node:crypto";
import { mapLimited } from "../../src/lib/map-limited.ts";

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
    16,
    async () => {
      // The index is global to the run: two calls with one label never make the same name.
      const index = accountIndex++;
      const username = `b${runTag}${label}${index}`;
      const address = addressOf(index);
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
