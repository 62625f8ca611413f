// HTTP helpers: calls go through the worker's own fetch, as a client's would.
import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect } from "vitest";

export const ORIGIN = "http://im.test";

export interface ApiResponse<T = unknown> {
  status: number;
  contentType: string;
  body: { code: number; message: string; data?: T | null };
}

export async function api<T = unknown>(
  path: string,
  options: {
    method?: string;
    body?: unknown;
    rawBody?: string;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/json",
    ...options.headers,
  };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await exports.default.fetch(`${ORIGIN}${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  return {
    status: response.status,
    contentType: response.headers.get("Content-Type") ?? "",
    body: await response.json(),
  };
}

/**
 * The code of a business refusal, after checking it came as the SDK can read it: HTTP 200, JSON,
 * and a message to show (http-api.md §1.4).
 */
export function refusal(response: ApiResponse): number {
  expect(response.status).toBe(200);
  expect(response.contentType).toMatch(/^application\/json/);
  expect(response.body.message.length).toBeGreaterThan(0);
  expect(response.body.code).not.toBe(0);
  return response.body.code;
}

export interface TestUser {
  userId: string;
  username: string;
  password: string;
  token: string;
  refreshToken: string;
}

let counter = 0;
/** Registers and logs in a fresh user with a unique username. */
export async function newUser(prefix = "user"): Promise<TestUser> {
  const username = `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`.toLowerCase();
  const password = "correct horse";
  const registered = await api<{ userID: string }>("/api/auth/register", { body: { username, password } });
  if (registered.body.code !== 0) throw new Error(`register failed: ${registered.body.message}`);
  const login = await api<{ token: string; userID: string; refreshToken: string }>("/api/auth/login", {
    body: { username, password, platform: "iOS" },
  });
  const data = login.body.data;
  if (!data) throw new Error(`login failed: ${login.body.message}`);
  return { userId: data.userID, username, password, token: data.token, refreshToken: data.refreshToken };
}

/** The login session a token names (its `sid`), for tests that sign tokens of their own. */
export function sessionOf(token: string): string {
  const { sid } = decodeJwt(token);
  if (typeof sid !== "string") throw new Error("token names no session");
  return sid;
}
