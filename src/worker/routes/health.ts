// GET /health: 200 once the worker can read its D1 schema (migrations applied), 503 before.
import { Hono } from "hono";
import { ApiError, ok } from "../../http/envelope";
import type { AppEnv } from "../types";
import { logEvent } from "../../observability/log";

export const health = new Hono<AppEnv>().get("/", async (c) => {
  try {
    await c.env.DB.prepare("SELECT 1 FROM users LIMIT 1").all();
  } catch (error) {
    logEvent("warn", "health_d1_not_ready", {}, error);
    throw new ApiError(503, "Database not ready");
  }
  return ok(c, { status: "healthy" }, "OK");
});
