// GET /api/admin/stats: the service's counts now, from D1 (users, banned users, messages today).
import { Hono } from "hono";
import { serviceCounts } from "../../../db/admin-reads";
import { database } from "../../../db/client";
import { ok } from "../../../http/envelope";
import { audited } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";

/** The start of the current day, UTC, in Unix milliseconds. */
function startOfUtcDay(now: number): number {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
}

export const adminStatsRoutes = new Hono<AppEnv>().get("/", audited("stats.read"), async (c) => {
  const dayStart = startOfUtcDay(Date.now());
  const counts = await serviceCounts(database(c.env), dayStart);
  return ok(c, {
    users: counts.users,
    bannedUsers: counts.bannedUsers,
    // From D1's history (system notices included), which trails the conversations by ~500 ms.
    messagesToday: counts.messagesSince,
    dayStart,
    // Sockets live in each user's object; counting them would wake every one. Not counted here
    // (the metrics of issue 16 item 4 are where a live count belongs).
    liveSockets: null,
  });
});
