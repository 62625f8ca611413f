// A group's pending D1 writes. Each membership or settings change is recorded here in the same
// transaction that applies it in the object, then written to D1 in order, one batch each, and
// removed only once D1 accepted it; what is left is retried by the alarm. Every write sets absolute
// values (upserts, deletes, the member count), so replaying one whose reply was lost changes
// nothing: after any single failure the object and D1 end up agreeing, and a D1 error never undoes
// the object's change nor resets the object.
import { z } from "zod";
import type { Database } from "../../db/client";
import { writeGroup, type GroupWrite } from "../../db/groups";
import { migrate } from "../sql-migrations";

const SCHEMA = [`CREATE TABLE group_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, write TEXT NOT NULL)`];

/** Most changes that may wait for D1; past it, new commands are refused until D1 catches up. */
export const MAX_PENDING_GROUP_WRITES = 100;

const member = z.object({ userId: z.string(), role: z.number(), mutedUntil: z.number().optional() });
/** A stored write, checked on the way back (it was written by `add`, from a typed GroupWrite). */
const StoredWrite = z.object({
  groupId: z.string(),
  at: z.number(),
  memberCount: z.number(),
  create: z.boolean().optional(),
  group: z
    .object({
      name: z.string(),
      faceUrl: z.string(),
      ownerId: z.string(),
      introduction: z.string(),
      notification: z.string(),
      status: z.number(),
      muteAll: z.boolean(),
      joinMode: z.string(),
    })
    .partial()
    .optional(),
  join: z.array(member).optional(),
  leave: z.array(z.string()).optional(),
  roles: z.array(z.object({ userId: z.string(), role: z.number() })).optional(),
  mutes: z.array(z.object({ userId: z.string(), until: z.number() })).optional(),
});

export class GroupOutbox {
  private readonly sql: SqlStorage;
  /** Flushes run one at a time, so D1 takes the writes in the order the object made them. */
  private flushing: Promise<unknown> = Promise.resolve();

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "group_outbox", SCHEMA);
  }

  add(write: GroupWrite): void {
    this.sql.exec("INSERT INTO group_outbox (write) VALUES (?)", JSON.stringify(write));
  }

  pending(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM group_outbox").one().n;
  }

  /** Writes every pending change to D1, oldest first; rejects at the first that fails (it stays). */
  flush(db: Database): Promise<void> {
    const run = this.flushing.then(() => this.drain(db));
    this.flushing = run.catch(() => {});
    return run;
  }

  private async drain(db: Database): Promise<void> {
    for (;;) {
      const row = this.sql
        .exec<{ id: number; write: string }>("SELECT id, write FROM group_outbox ORDER BY id LIMIT 1")
        .toArray()[0];
      if (!row) return;
      await writeGroup(db, StoredWrite.parse(JSON.parse(row.write)));
      this.sql.exec("DELETE FROM group_outbox WHERE id = ?", row.id);
    }
  }
}
