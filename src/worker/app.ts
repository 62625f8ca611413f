// The Hono app: routes, the JSON envelope for every error, and no stack trace ever to a client.
import { Hono } from "hono";
import { ApiError, TransportError } from "../http/envelope";
import { withSettings } from "./middleware/settings";
import { countInvocation } from "../lib/usage-meter";
import { adminRoutes } from "./routes/admin";
import { auth } from "./routes/auth";
import { chatroomRoutes } from "./routes/chatrooms";
import { chatroomSocketRoute } from "./routes/chatroom-socket";
import { conversationRoutes } from "./routes/conversations";
import { debugUsage } from "./routes/debug-usage";
import { fileRoutes, uploadRoute } from "./routes/files";
import { friendRoutes } from "./routes/friends";
import { groupRoutes } from "./routes/groups";
import { health } from "./routes/health";
import { messageRoutes } from "./routes/messages";
import { pushRoutes } from "./routes/push";
import { userRoutes } from "./routes/users";
import { wsRoute } from "./routes/ws";
import type { AppEnv } from "./types";
import { logEvent } from "../observability/log";
import { countMetric, Metric, useMetrics } from "../observability/metrics";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(async function countAndNameRequest(c, next) {
    countInvocation("worker", "request");
    useMetrics(c.env);
    c.set("requestId", c.req.header("cf-ray") ?? crypto.randomUUID());
    await next();
  });
  // First, for every path: a server with invalid settings answers nothing else (not even /health).
  app.use(withSettings);
  app.route("/health", health);
  app.route("/api/auth", auth);
  app.route("/api/user", userRoutes);
  app.route("/api/conversations", conversationRoutes);
  app.route("/api/messages", messageRoutes);
  app.route("/api/push", pushRoutes);
  app.route("/api/friend", friendRoutes);
  app.route("/api/group", groupRoutes);
  app.route("/api/chatrooms", chatroomRoutes);
  app.route("/api/admin", adminRoutes);
  app.route("/ws/chatroom", chatroomSocketRoute);
  app.route("/ws", wsRoute);
  app.route("/upload", uploadRoute);
  app.route("/api/upload", uploadRoute);
  app.route("/files", fileRoutes);
  app.route("/debug/usage", debugUsage);

  app.notFound(() => new TransportError(404, "Not found").toResponse());
  app.onError(function toEnvelope(error, c) {
    const request = { requestId: c.var.requestId, method: c.req.method, path: c.req.path };
    if (error instanceof ApiError) {
      const auth = error.status === 401;
      logEvent(auth ? "warn" : "info", auth ? "auth_refused" : "request_refused", {
        ...request,
        code: error.status,
        reason: error.message,
      });
      countMetric(Metric.refusals, 1, `http_${error.status}`);
      return error.toResponse();
    }
    logEvent("error", "request_failed", { ...request, code: 500 }, error);
    return new ApiError(500, "Internal server error").toResponse();
  });
  return app;
}
