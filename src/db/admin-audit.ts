// The admin API's audit log in D1 (`admin_audit`): one row per call, read newest first.
import { desc, lt } from "drizzle-orm";
import { adminAudit } from "../../schema/tables";
import type { Database } from "./client";

export type AuditRow = typeof adminAudit.$inferSelect;
export type AuditInsert = Omit<typeof adminAudit.$inferInsert, "id">;

export async function recordAudit(db: Database, row: AuditInsert): Promise<void> {
  await db.insert(adminAudit).values(row);
}

/** Rows older than `before` (an id; none for the newest), newest first, at most `limit`. */
export async function auditPage(db: Database, before: number | null, limit: number): Promise<AuditRow[]> {
  return db
    .select()
    .from(adminAudit)
    .where(before === null ? undefined : lt(adminAudit.id, before))
    .orderBy(desc(adminAudit.id))
    .limit(limit)
    .all();
}
