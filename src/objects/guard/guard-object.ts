// GuardObject: one per key (a username, a client address), counting events in a sliding window for
// login throttling and registration limits. One object per key keeps each count exact without a
// shared store; the timestamps live in its SQLite, so a restart forgets nothing.
import { DurableObject } from "cloudflare:workers";
import { migrate } from "../sql-migrations";

const SCHEMA = [`CREATE TABLE hits (at INTEGER NOT NULL)`, `CREATE INDEX hits_at ON hits (at)`];

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

  /** Whether another event fits in the window, without counting one. */
  async check(limit: number, windowMs: number): Promise<Verdict> {
    return this.verdict(limit, windowMs, Date.now());
  }

  /** Counts one event that happened (a failed login), whatever the count. */
  async hit(limit: number, windowMs: number): Promise<Verdict> {
    const now = Date.now();
    this.ctx.storage.sql.exec("INSERT INTO hits (at) VALUES (?)", now);
    return this.verdict(limit, windowMs, now);
  }

  /** Counts one event only if it fits the window (a registration); refused events are not counted. */
  async take(limit: number, windowMs: number): Promise<Verdict> {
    const now = Date.now();
    const verdict = this.verdict(limit, windowMs, now);
    if (verdict.allowed) this.ctx.storage.sql.exec("INSERT INTO hits (at) VALUES (?)", now);
    return verdict;
  }

  private verdict(limit: number, windowMs: number, now: number): Verdict {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM hits WHERE at <= ?", now - windowMs);
    const { n, oldest } = sql
      .exec<{ n: number; oldest: number | null }>("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM hits")
      .one();
    if (n < limit) return { allowed: true, retryAfterSeconds: 0 };
    // The oldest hits must age out before a new event fits.
    const excess = sql
      .exec<{ at: number }>("SELECT at FROM hits ORDER BY at LIMIT 1 OFFSET ?", n - limit)
      .toArray()[0];
    const freesAt = (excess?.at ?? oldest ?? now) + windowMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)) };
  }
}
