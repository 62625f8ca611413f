// One drizzle client per D1 binding (src/db/client.ts): built once, not per call, and never shared
// with an env that has another D1 (a test's failing one).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";

describe("the D1 client", () => {
  it("is built once per binding and works", async () => {
    const first = database(env);
    expect(database({ ...env })).toBe(first);
    const rows = await first.$client.prepare("SELECT 1 AS one").all<{ one: number }>();
    expect(rows.results).toEqual([{ one: 1 }]);
  });

  it("is another one for another D1", () => {
    const other = { ...env, DB: Object.create(env.DB) as D1Database };
    expect(database(other)).not.toBe(database(env));
    expect(database(other)).toBe(database(other));
  });
});
