import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/auth/jwt";
import {
  LOGIN_FAILURES_PER_ADDRESS,
  LOGIN_FAILURES_PER_USERNAME,
  REGISTRATIONS_PER_ADDRESS,
} from "../../src/auth/throttle";
import { Err } from "../../src/protocol/codec";
import { api, newUser, ORIGIN, sessionOf, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const key = () => new TextEncoder().encode(env.JWT_SECRET);

/** Forged or unusable tokens for `user`, each with what the socket's AUTH must answer. */
async function forgeries(user: TestUser): Promise<[string, string, Err][]> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: user.userId, user_id: user.userId, platform: "iOS", iat: now, exp: now + 3600 };
  const [header, , signature] = user.token.split(".");
  const other = await newUser("victim");
  return [
    ["alg none", `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`, Err.ERR_AUTH_FAILED],
    [
      "signed with another key",
      (
        await signAccessToken(
          "another-secret-another-secret-1234",
          { userId: user.userId, platform: "iOS", sessionId: sessionOf(user.token) },
          3600,
        )
      ).token,
      Err.ERR_AUTH_FAILED,
    ],
    [
      "expired",
      (
        await signAccessToken(
          env.JWT_SECRET,
          { userId: user.userId, platform: "iOS", sessionId: sessionOf(user.token) },
          -60,
        )
      ).token,
      Err.ERR_TOKEN_EXPIRED,
    ],
    [
      "not yet valid",
      await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setNotBefore(now + 3600)
        .sign(key()),
      Err.ERR_AUTH_FAILED,
    ],
    [
      "HS512 with the right key (algorithm confusion)",
      await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(key()),
      Err.ERR_AUTH_FAILED,
    ],
    [
      "tampered payload",
      `${header}.${b64url({ ...claims, sub: other.userId, user_id: other.userId })}.${signature}`,
      Err.ERR_AUTH_FAILED,
    ],
    ["garbage", "not.a.jwt", Err.ERR_AUTH_FAILED],
  ];
}

describe("token attacks", () => {
  it("refuses each forged token on HTTP, on the upgrade and in AUTH", async () => {
    const user = await newUser("target");
    for (const [name, token, code] of await forgeries(user)) {
      const http = await api(`/api/user/info/${user.userId}`, { token });
      expect(http.status, name).toBe(401);
      expect(http.body.code, name).toBe(401);
      const upgrade = await exports.default.fetch(`${ORIGIN}/ws?token=${encodeURIComponent(token)}`, {
        headers: { Upgrade: "websocket" },
      });
      expect(upgrade.status, name).toBe(401);
      const socket = await TestSocket.open(user.token);
      expect((await socket.auth(user.userId, token)).errorCode, name).toBe(code);
      expect((await socket.closed).code, name).toBe(1008);
    }
  });

  it("refuses the token of a deleted account", async () => {
    const user = await newUser("gone");
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.userId).run();
    expect((await api(`/api/user/info/${user.userId}`, { token: user.token })).status).toBe(401);
    const upgrade = await exports.default.fetch(`${ORIGIN}/ws?token=${user.token}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(upgrade.status).toBe(401);
    expect((await api("/api/conversations", { token: user.token })).status).toBe(401);
  });

  it("revokes the whole family when a refresh token is used twice", async () => {
    const user = await newUser("family");
    const first = await api<{ refreshToken: string }>("/api/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    const second = await api<{ refreshToken: string }>("/api/auth/refresh", {
      body: { refreshToken: first.body.data!.refreshToken },
    });
    expect(second.body.code).toBe(0);
    expect((await api("/api/auth/refresh", { body: { refreshToken: user.refreshToken } })).status).toBe(401);
    expect(
      (await api("/api/auth/refresh", { body: { refreshToken: second.body.data!.refreshToken } })).status,
    ).toBe(401);
  });
});

describe("password guessing", () => {
  /** The envelope's code of a login from `address` (refusals come as HTTP 200, http-api.md §1.4). */
  const login = async (username: string, password: string, address: string) => {
    const response = await exports.default.fetch(`${ORIGIN}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": address },
      body: JSON.stringify({ username, password }),
    });
    expect(response.status).toBe(200);
    const { code } = (await response.json()) as { code: number };
    return { code, retryAfter: response.headers.get("Retry-After") };
  };

  it("throttles a username after its failed logins with 429 and Retry-After, even for the right password", async () => {
    const user = await newUser("guessme");
    for (let i = 0; i < LOGIN_FAILURES_PER_USERNAME; i++) {
      expect((await login(user.username, `wrong-${i}`, `10.0.0.${i}`)).code).toBe(401);
    }
    const blocked = await login(user.username, user.password, "10.0.1.1");
    expect(blocked.code).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    const other = await newUser("bystander");
    expect((await login(other.username, other.password, "10.0.1.1")).code).toBe(0);
  });

  it("throttles an address after its failed logins across usernames", async () => {
    const user = await newUser("victim");
    const address = "192.0.2.77";
    for (let i = 0; i < LOGIN_FAILURES_PER_ADDRESS; i++) {
      expect((await login(`nobody${i}`, "wrong-password", address)).code).toBe(401);
    }
    expect((await login(user.username, user.password, address)).code).toBe(429);
    expect((await login(user.username, user.password, "192.0.2.78")).code).toBe(0);
  });

  it("never slows successful logins", async () => {
    const user = await newUser("regular");
    for (let i = 0; i < LOGIN_FAILURES_PER_USERNAME * 2; i++) {
      expect((await login(user.username, user.password, "198.51.100.9")).code).toBe(0);
    }
  });

  it("limits registrations per address at a generous setting", async () => {
    const address = "203.0.113.5";
    const register = (n: number) =>
      exports.default.fetch(`${ORIGIN}/api/auth/register`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": address },
        body: JSON.stringify({ username: `flood${Date.now().toString(36)}${n}`, password: "flood-password" }),
      });
    for (let i = 0; i < REGISTRATIONS_PER_ADDRESS; i++) {
      expect(await (await register(i)).json()).toMatchObject({ code: 0 });
    }
    const refused = await register(REGISTRATIONS_PER_ADDRESS);
    expect(refused.status).toBe(200);
    expect(await refused.json()).toMatchObject({ code: 429 });
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
  });
});
