// Fuzzing every HTTP endpoint's body, path and query: whatever arrives, the answer is a 2xx or
// 4xx JSON envelope with a readable message, never a 5xx or a stack trace, and a refused request
// changes nothing.
import fc from "fast-check";
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORIGIN, newUser } from "./helpers/http";

type Route = [method: "GET" | "POST", path: (param: string) => string];

const ROUTES: Route[] = [
  ["POST", () => "/api/auth/register"],
  ["POST", () => "/api/auth/login"],
  ["POST", () => "/api/auth/refresh"],
  ["POST", () => "/api/auth/logout"],
  ["GET", (p) => `/api/user/info/${p}`],
  ["POST", () => "/api/user/info/batch"],
  ["POST", () => "/api/user/update"],
  ["GET", (p) => `/api/user/search?keyword=${p}`],
  ["POST", () => "/api/friend/add"],
  ["POST", () => "/api/friend/accept"],
  ["POST", () => "/api/friend/reject"],
  ["POST", () => "/api/friend/delete"],
  ["GET", () => "/api/friend/list"],
  ["GET", (p) => `/api/friend/check?userID=${p}`],
  ["POST", () => "/api/friend/remark"],
  ["GET", (p) => `/api/friend/requests?direction=${p}`],
  ["POST", () => "/api/friend/block"],
  ["POST", () => "/api/friend/unblock"],
  ["POST", () => "/api/group/create"],
  ["POST", () => "/api/group/update"],
  ["GET", (p) => `/api/group/${p}`],
  ["GET", () => "/api/group/my/list"],
  ["POST", (p) => `/api/group/${p}/join`],
  ["POST", (p) => `/api/group/${p}/leave`],
  ["POST", (p) => `/api/group/${p}/invite`],
  ["POST", (p) => `/api/group/${p}/kick`],
  ["POST", (p) => `/api/group/${p}/dismiss`],
  ["POST", (p) => `/api/group/${p}/transfer`],
  ["POST", (p) => `/api/group/${p}/admin`],
  ["POST", (p) => `/api/group/${p}/mute`],
  ["POST", (p) => `/api/group/${p}/mute-all`],
  ["GET", (p) => `/api/group/${p}/members?offset=${p}&limit=${p}`],
  ["GET", (p) => `/api/conversations?limit=${p}&offset=${p}`],
  ["GET", (p) => `/api/conversations/${p}`],
  ["POST", (p) => `/api/conversations/${p}/pin`],
  ["POST", (p) => `/api/conversations/${p}/mute`],
  ["POST", (p) => `/api/conversations/${p}/delete`],
  ["POST", (p) => `/api/conversations/${p}/read`],
  ["GET", (p) => `/${p}`],
];

const RUNS_PER_ROUTE = 120;

/** Bodies: any JSON, JSON-ish objects with the API's own keys and wrong types, or raw text. */
const body = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .dictionary(
      fc.constantFrom(
        "username",
        "password",
        "userID",
        "userIDs",
        "groupID",
        "groupName",
        "message",
        "remark",
        "pinned",
        "seconds",
        "refreshToken",
        "keyword",
      ),
      fc.oneof(
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.string(), { maxLength: 3 }),
        fc.double(),
      ),
    )
    .map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant(""),
);
const param = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "batch", "my", "..", "%00", "single_a_b", "group_x"),
);

describe("HTTP fuzzing", () => {
  it("answers every endpoint's random bodies, paths and queries with a 2xx or 4xx envelope", async () => {
    const user = await newUser("httpfuzz");
    const countRows = async () =>
      (await env.DB.prepare(
        "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM friends) + (SELECT COUNT(*) FROM friend_requests) + (SELECT COUNT(*) FROM groups) + (SELECT COUNT(*) FROM blocks) AS n",
      ).first<{ n: number }>())!.n;
    let requests = 0;
    let accepted = 0;
    for (const [method, path] of ROUTES) {
      await fc.assert(
        fc.asyncProperty(param, body, fc.boolean(), async (p, text, withToken) => {
          const before = await countRows();
          const url = `${ORIGIN}${path(encodeURIComponent(p))}`;
          const headers: Record<string, string> = { "Content-Type": "application/json" };
          if (withToken) headers.Authorization = `Bearer ${user.token}`;
          const response = await exports.default.fetch(url, {
            method,
            headers,
            body: method === "POST" ? text : undefined,
          });
          requests++;
          expect(response.status, `${method} ${url}`).toBeLessThan(500);
          expect(response.headers.get("Content-Type") ?? "").toMatch(/^application\/json/);
          const envelope = (await response.json()) as { code: unknown; message: unknown };
          expect(typeof envelope.code).toBe("number");
          expect(typeof envelope.message).toBe("string");
          expect(envelope.message as string).not.toMatch(/\n\s+at |Error:|\.ts:\d+/);
          if (envelope.code !== 0) {
            // A refusal comes as HTTP 200 with its code, except a bad token's 401 (http-api.md §1.4).
            // A bad token keeps 401, and a path that matches no route keeps 404.
            const tokenRefused = envelope.code === 401 && !url.endsWith("/api/auth/login");
            const noRoute = envelope.code === 404 && envelope.message === "Not found";
            expect(response.status, `${method} ${url}`).toBe(tokenRefused || noRoute ? envelope.code : 200);
            // A refused request changes nothing.
            expect(await countRows(), `${method} ${url}`).toBe(before);
          } else {
            accepted++;
          }
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
    }
    console.log(
      `HTTP fuzz: ${requests} requests over ${ROUTES.length} routes, ${accepted} accepted, 0 server errors`,
    );
    expect(requests).toBe(ROUTES.length * RUNS_PER_ROUTE);
  }, 600_000);
});
