// GET /api/admin/stats: the service's counts now, from D1 (users, banned users; messages today over
// every history shard) and the socket gauge (live sockets).
import { Hono } from "hono";
import { serviceCounts } from "../../../db/admin-reads";
import { database } from "../../../db/client";
import { allShards } from "../../../db/history-shards";
import { ok } from "../../../http/envelope";
import { liveSocketCount } from "../../../objects/stats/socket-gauge";
import { logEvent } from "../../../observability/log";
import { audited } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";

/** The start of the current day, UTC, in Unix milliseconds. */
function startOfUtcDay(now: number): number {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
}

export const adminStatsRoutes = new Hono<AppEnv>().get("/", audited("stats.read"), async (c) => {
  const dayStart = startOfUtcDay(Date.now());
  const counts = await serviceCounts(database(c.env), allShards(c.env, c.var.settings), dayStart);
  return ok(c, {
    users: counts.users,
    bannedUsers: counts.bannedUsers,
    // From D1's history (system notices included), which trails the conversations by ~500 ms.
    messagesToday: counts.messagesSince,
    dayStart,
    // Authenticated sockets as the users' objects report them to the gauge's shards (socket-gauge.ts).
    liveSockets: await liveSocketCount(c.env).catch((error: unknown) => {
      logEvent("error", "socket_gauge_read_failed", { requestId: c.var.requestId }, error);
      return null; // the other counts still answer
    }),
  });
});
