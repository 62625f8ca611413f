// Puts the settings (checked once per environment, src/config/settings.ts) on c.var.settings, or,
// when the environment is invalid, answers the request with a 503 envelope naming each bad variable.
import { createMiddleware } from "hono/factory";
import { describeProblems, settingsOf } from "../../config/settings";
import { ApiError } from "../../http/envelope";
import type { AppEnv } from "../types";

export const withSettings = createMiddleware<AppEnv>(async function withSettings(c, next) {
  const check = settingsOf(c.env);
  if (!check.ok)
    return new ApiError(503, `server misconfigured: ${describeProblems(check.problems)}`).toResponse();
  c.set("settings", check.settings);
  await next();
});
