// Writes one audit row per admin call (src/db/admin-audit.ts): the action this route is, what the
// handler says it acted on, the caller's address and how the call ended, refusals included. The
// row is written before the answer goes out, so an admin reading the log sees their own call.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { clientAddress } from "../../auth/throttle";
import { database } from "../../db/client";
import { recordAudit } from "../../db/admin-audit";
import { ApiError } from "../../http/envelope";
import type { AppEnv } from "../types";
import { logEvent } from "../../observability/log";

/** What a call acted on: filled in by its handler once its input is validated. */
export interface AuditNote {
  action: string;
  target: string;
  /** The validated parameters, never a password or token. */
  params: Record<string, unknown>;
}

/** Longest outcome text kept: an error's message, never its stack. */
const MAX_OUTCOME_CHARS = 500;

/** Records what the call acts on, for its audit row; call it before the action can fail. */
export function noteAudit(c: Context<AppEnv>, target: string, params: Record<string, unknown> = {}): void {
  c.set("audit", { ...c.var.audit, target, params });
}

/** The middleware of one admin route, named by its action ("user.ban"). */
export function audited(action: string) {
  return createMiddleware<AppEnv>(async function auditAdminCall(c, next) {
    c.set("audit", { action, target: "", params: {} });
    await next();
    // A thrown error reached onError already (c.error); its answer is in c.res.
    const error = c.error;
    const outcomeCode = error === undefined ? 0 : error instanceof ApiError ? error.status : 500;
    const outcome =
      error === undefined ? "ok" : error instanceof ApiError ? error.message : "Internal server error";
    const { target, params } = c.var.audit;
    logEvent("info", "admin_action", {
      requestId: c.var.requestId,
      action,
      target,
      code: outcomeCode,
      clientIp: clientAddress(c.req.raw),
    });
    try {
      await recordAudit(database(c.env), {
        at: Date.now(),
        action,
        target,
        params: JSON.stringify(params),
        clientIp: clientAddress(c.req.raw),
        outcomeCode,
        outcome: outcome.slice(0, MAX_OUTCOME_CHARS),
      });
    } catch (failure) {
      // The action itself is done (or refused); a lost row must not turn its answer into an error.
      logEvent("error", "admin_audit_write_failed", { action, target, requestId: c.var.requestId }, failure);
    }
  });
}
