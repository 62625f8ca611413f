// GuardObject: one per key (a username, a client address), counting events in a sliding window for
// login throttling, registration limits and upload limits. An event has a weight: 1 for a login or
// a registration, its size in bytes for an upload's byte budget. One object per key keeps each count
// exact without a shared store; the events live in its SQLite, so a restart forgets nothing.
import { DurableObject } from "cloudflare:workers";
import { meterInvocations } from "../../lib/usage-meter";
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE hits (at INTEGER NOT NULL)`,
  `CREATE INDEX hits_at ON hits (at)`,
  `ALTER TABLE hits ADD COLUMN weight INTEGER NOT NULL DEFAULT 1`,
];

export interface Verdict {
  allowed: boolean;
  /** Seconds until one more event is allowed; 0 when allowed now. */
  retryAfterSeconds: number;
}

export class GuardObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage.sql, "guard", SCHEMA);
  }

  /** Whether another event of this weight fits in the window, without counting one. */
  async check(limit: number, windowMs: number, weight = 1): Promise<Verdict> {
    return this.verdict(limit, windowMs, Date.now(), weight);
  }

  /** Counts one event that happened (a failed login, bytes received), whatever the count. */
  async hit(limit: number, windowMs: number, weight = 1): Promise<Verdict> {
    const now = Date.now();
    this.record(now, weight);
    return this.verdict(limit, windowMs, now, 1);
  }

  /** Counts one event only if it fits the window (a registration); refused events are not counted. */
  async take(limit: number, windowMs: number, weight = 1): Promise<Verdict> {
    const now = Date.now();
    const verdict = this.verdict(limit, windowMs, now, weight);
    if (verdict.allowed) this.record(now, weight);
    return verdict;
  }

  /** What is left of the window's budget now: limit minus the weight of the events in it. */
  async remaining(limit: number, windowMs: number): Promise<number> {
    return Math.max(0, limit - this.used(windowMs, Date.now()));
  }

  private record(at: number, weight: number): void {
    this.ctx.storage.sql.exec("INSERT INTO hits (at, weight) VALUES (?, ?)", at, weight);
  }

  /** Drops the events that left the window and sums the weight of the rest. */
  private used(windowMs: number, now: number): number {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM hits WHERE at <= ?", now - windowMs);
    return sql.exec<{ used: number }>("SELECT COALESCE(SUM(weight), 0) AS used FROM hits").one().used;
  }

  private verdict(limit: number, windowMs: number, now: number, weight: number): Verdict {
    const excess = this.used(windowMs, now) + weight - limit;
    if (excess <= 0) return { allowed: true, retryAfterSeconds: 0 };
    // The oldest events must age out until the new one fits; one heavier than the limit never does.
    let freed = 0;
    let freesAt = now + windowMs;
    if (weight <= limit) {
      for (const row of this.ctx.storage.sql.exec<{ at: number; weight: number }>(
        "SELECT at, weight FROM hits ORDER BY at",
      )) {
        freed += row.weight;
        if (freed >= excess) {
          freesAt = row.at + windowMs;
          break;
        }
      }
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)) };
  }
}

meterInvocations(GuardObject, "guard", { check: true, hit: true, take: true, remaining: true });
