// /api/admin: the admin API (docs/ADMIN.md). Every call needs the admin credential
// (middleware/require-admin.ts) and, once past it, writes one audit row (middleware/admin-audit.ts).
// One file per area.
import { Hono } from "hono";
import { requireAdmin } from "../../middleware/require-admin";
import type { AppEnv } from "../../types";
import { adminAuditRoutes } from "./audit";
import { adminChatroomRoutes } from "./chatrooms";
import { adminGroupRoutes } from "./groups";
import { adminMessageRoutes } from "./messages";
import { adminStatsRoutes } from "./stats";
import { adminSystemRoutes } from "./system";
import { adminUserRoutes } from "./users";
import { adminWebhookRoutes } from "./webhooks";

export const adminRoutes = new Hono<AppEnv>()
  .use(requireAdmin)
  .route("/users", adminUserRoutes)
  .route("/messages", adminMessageRoutes)
  .route("/groups", adminGroupRoutes)
  .route("/chatrooms", adminChatroomRoutes)
  .route("/system", adminSystemRoutes)
  .route("/stats", adminStatsRoutes)
  .route("/audit", adminAuditRoutes)
  .route("/webhooks", adminWebhookRoutes);
