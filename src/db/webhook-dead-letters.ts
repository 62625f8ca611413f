// Webhook events the receiver never took (`webhook_dead_letters`): written by the dead-letter
// queue's consumer, read and sent again by the admin API.
import { desc, eq, lt, lte, sql } from "drizzle-orm";
import { webhookDeadLetters } from "../../schema/tables";
import type { Database } from "./client";

export type DeadLetterRow = typeof webhookDeadLetters.$inferSelect;
export type DeadLetterInsert = Omit<typeof webhookDeadLetters.$inferInsert, "id" | "at">;

/** Rows kept: the newest; older ones go as new ones come (a receiver down for weeks fills no disk). */
export const MAX_DEAD_LETTERS = 10_000;

/** Records events; one already recorded (a repeat from the Queue) takes the new time. */
export async function recordDeadLetters(db: Database, rows: readonly DeadLetterInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await db.batch([
    db
      .insert(webhookDeadLetters)
      .values([...rows])
      .onConflictDoUpdate({
        target: webhookDeadLetters.eventId,
        set: { at: sql`excluded.at` },
      }),
    db
      .delete(webhookDeadLetters)
      .where(
        lte(
          webhookDeadLetters.id,
          sql`(SELECT MAX(${webhookDeadLetters.id}) FROM ${webhookDeadLetters}) - ${MAX_DEAD_LETTERS}`,
        ),
      ),
  ]);
}

/** Rows older than `before` (an id; none for the newest), newest first, at most `limit`. */
export async function deadLetterPage(
  db: Database,
  before: number | null,
  limit: number,
): Promise<DeadLetterRow[]> {
  return db
    .select()
    .from(webhookDeadLetters)
    .where(before === null ? undefined : lt(webhookDeadLetters.id, before))
    .orderBy(desc(webhookDeadLetters.id))
    .limit(limit)
    .all();
}

export async function deadLetter(db: Database, id: number): Promise<DeadLetterRow | undefined> {
  return db.select().from(webhookDeadLetters).where(eq(webhookDeadLetters.id, id)).get();
}

export async function removeDeadLetter(db: Database, id: number): Promise<void> {
  await db.delete(webhookDeadLetters).where(eq(webhookDeadLetters.id, id));
}
