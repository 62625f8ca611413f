// GET /health: 200 once the worker can read its D1 schema (migrations applied) in the main database
// and in every history shard, 503 before.
import { Hono } from "hono";
import { ApiError, ok } from "../../http/envelope";
import type { AppEnv } from "../types";
import { logEvent } from "../../observability/log";
import { allShards } from "../../db/history-shards";

export const health = new Hono<AppEnv>().get("/", async (c) => {
  try {
    await c.env.DB.prepare("SELECT 1 FROM users LIMIT 1").all();
    // A shard without its migrations would refuse every history row written to it.
    await Promise.all(
      allShards(c.env, c.var.settings).map(({ db }) =>
        db.$client.prepare("SELECT 1 FROM messages LIMIT 1").all(),
      ),
    );
  } catch (error) {
    logEvent("warn", "health_d1_not_ready", {}, error);
    throw new ApiError(503, "Database not ready");
  }
  return ok(c, { status: "healthy" }, "OK");
});
