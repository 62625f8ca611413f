// Webhook events the receiver never took (`webhook_dead_letters`): written by the dead-letter
// queue's consumer, read and sent again by the admin API.
import { desc, eq, lt, lte, sql } from "drizzle-orm";
import { webhookDeadLetters } from "../../schema/tables";
import type { Database } from "./client";
import { chunked, MAX_BOUND_PARAMS } from "./limits";

export type DeadLetterRow = typeof webhookDeadLetters.$inferSelect;
export type DeadLetterInsert = Omit<typeof webhookDeadLetters.$inferInsert, "id" | "at">;

/** Rows kept: the newest; older ones go as new ones come (a receiver down for weeks fills no disk). */
export const MAX_DEAD_LETTERS = 10_000;

/** Bound parameters of one row (event id, event, body). */
const PARAMS_PER_ROW = 3;

/**
 * Records events, in statements of at most D1's bound parameters; one already recorded (a repeat
 * from the Queue) takes the new time. One batch: all or nothing.
 */
export async function recordDeadLetters(db: Database, rows: readonly DeadLetterInsert[]): Promise<void> {
  if (rows.length === 0) return;
  const inserts = chunked(rows, Math.floor(MAX_BOUND_PARAMS / PARAMS_PER_ROW)).map((chunk) =>
    db
      .insert(webhookDeadLetters)
      .values(chunk)
      .onConflictDoUpdate({ target: webhookDeadLetters.eventId, set: { at: sql`excluded.at` } }),
  );
  const prune = db
    .delete(webhookDeadLetters)
    .where(
      lte(
        webhookDeadLetters.id,
        sql`(SELECT MAX(${webhookDeadLetters.id}) FROM ${webhookDeadLetters}) - ${MAX_DEAD_LETTERS}`,
      ),
    );
  await db.batch([prune, ...inserts]); // pruned first: what it removes is older than this batch anyway
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
