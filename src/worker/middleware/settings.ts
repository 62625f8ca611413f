// Parses the settings once per request and makes them available as c.var.settings.
import { createMiddleware } from "hono/factory";
import { readSettings } from "../../auth/config";
import type { AppEnv } from "../types";

export const withSettings = createMiddleware<AppEnv>(async function withSettings(c, next) {
  c.set("settings", readSettings(c.env));
  await next();
});
