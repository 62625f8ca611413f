// GET /api/admin/audit: the admin API's audit log, newest first, paged by `before` (a row id).
import { Hono } from "hono";
import { z } from "zod";
import { auditPage, type AuditRow } from "../../../db/admin-audit";
import { database } from "../../../db/client";
import { ok } from "../../../http/envelope";
import { validated } from "../../../http/validate";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";

/** Largest page of the audit log. */
export const MAX_AUDIT_PAGE = 200;

const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50),
  before: z.coerce.number().int().min(1).optional(),
});

export interface AuditEntryJson {
  id: number;
  time: number;
  action: string;
  target: string;
  params: unknown;
  clientIP: string;
  /** 0 when the call succeeded, else the envelope's code it was answered with. */
  outcomeCode: number;
  outcome: string;
}

function toJson(row: AuditRow): AuditEntryJson {
  return {
    id: row.id,
    time: row.at,
    action: row.action,
    target: row.target,
    params: JSON.parse(row.params) as unknown,
    clientIP: row.clientIp,
    outcomeCode: row.outcomeCode,
    outcome: row.outcome,
  };
}

export const adminAuditRoutes = new Hono<AppEnv>().get("/", audited("audit.read"), async (c) => {
  const query = validated(AuditQuery, c.req.query());
  noteAudit(c, "", query);
  const rows = await auditPage(database(c.env), query.before ?? null, query.limit);
  const last = rows.at(-1);
  return ok(c, {
    entries: rows.map(toJson),
    // `before` for the next (older) page; null on the last page.
    next: last && rows.length === query.limit ? last.id : null,
  });
});
