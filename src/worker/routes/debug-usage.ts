// GET /debug/usage: this isolate's invocation, D1 and storage counts (src/lib/usage-meter.ts), for
// the local benchmark. Answers only when USAGE_METER is set; otherwise it is not there (404), so a
// deployment that never sets it exposes nothing.
import { Hono } from "hono";
import { TransportError, ok } from "../../http/envelope";
import { usageMeterOn, usageSnapshot } from "../../lib/usage-meter";
import type { AppEnv } from "../types";

export const debugUsage = new Hono<AppEnv>().get("/", (c) => {
  if (!usageMeterOn(c.env)) throw new TransportError(404, "Not found");
  return ok(c, usageSnapshot(), "OK");
});
