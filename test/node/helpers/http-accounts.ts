// HTTP calls and accounts for the end-to-end tests, as the SDK's app makes them: the JSON envelope
// over fetch, register then login.
import { expect } from "vitest";

export interface Envelope<T> {
  code: number;
  message: string;
  data: T;
}

/** POSTs `body` as JSON (with a bearer token when given); the HTTP status and the envelope. */
export async function postJson<T>(
  origin: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: Envelope<T> }> {
  const response = await fetch(`${origin}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Envelope<T> };
}

let accounts = 0;

/** Registers a new user (a unique name from `name`) and logs it in on iOS. */
export async function newAccount(origin: string, name: string): Promise<{ userId: string; token: string }> {
  const username = `${name}${Date.now().toString(36)}${(accounts++).toString(36)}`;
  const password = "e2e-password";
  expect((await postJson(origin, "/api/auth/register", { username, password })).body.code).toBe(0);
  const login = await postJson<{ token: string; userID: string }>(origin, "/api/auth/login", {
    username,
    password,
    platform: "iOS",
  });
  expect(login.body.code).toBe(0);
  return { userId: login.body.data.userID, token: login.body.data.token };
}
