// SocketGauge (`gauge-<n>`): how many authenticated sockets the users hashed to it hold, as their
// UserObjects report it (absolute counts, on authentication, on close, and every few minutes while
// a socket beats), so the admin API can count live sockets without waking every user's object. A
// count not refreshed for STALE_MS no longer counts (a deploy drops sockets without a close event),
// and is pruned as new reports come.
import { DurableObject } from "cloudflare:workers";
import { hash } from "../../lib/hash";
import { migrate } from "../sql-migrations";

/** Shards of the gauge: reports spread over them, a total asks each once. */
export const GAUGE_SHARDS = 8;
/** A socket reports again after this long (on its next heartbeat). */
export const GAUGE_REFRESH_MS = 10 * 60_000;
/** A report older than this no longer counts: three refreshes missed. */
export const GAUGE_STALE_MS = 3 * GAUGE_REFRESH_MS;
/** Stale rows pruned per report: the table stays about the size of the users online. */
const PRUNE_PER_REPORT = 20;

const SCHEMA = [
  `CREATE TABLE live (user_id TEXT PRIMARY KEY, sockets INTEGER NOT NULL, at INTEGER NOT NULL)`,
  `CREATE INDEX live_at ON live (at)`,
];

export class SocketGauge extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(this.sql, "socket_gauge", SCHEMA);
  }

  /** The user holds `sockets` authenticated sockets as of `at`; an older report than the stored one changes nothing. */
  report(userId: string, sockets: number, at: number): void {
    // A 0 is kept too (pruned once stale): a late report from before it must not count again.
    this.sql.exec(
      `INSERT INTO live (user_id, sockets, at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET sockets = excluded.sockets, at = excluded.at
       WHERE excluded.at >= live.at`,
      userId,
      sockets,
      at,
    );
    this.sql.exec(
      "DELETE FROM live WHERE user_id IN (SELECT user_id FROM live WHERE at < ? LIMIT ?)",
      Date.now() - GAUGE_STALE_MS,
      PRUNE_PER_REPORT,
    );
  }

  /** Sockets of this shard's users reported within GAUGE_STALE_MS. */
  total(): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT COALESCE(SUM(sockets), 0) AS n FROM live WHERE at >= ?",
        Date.now() - GAUGE_STALE_MS,
      )
      .one().n;
  }
}

/** The shard a user reports to. */
export function gaugeFor(env: Env, userId: string): DurableObjectStub<SocketGauge> {
  return env.SOCKET_GAUGE.getByName(`gauge-${hash(userId) % GAUGE_SHARDS}`);
}

/** Live sockets over every shard. */
export async function liveSocketCount(env: Env): Promise<number> {
  const totals = await Promise.all(
    Array.from({ length: GAUGE_SHARDS }, (_, n) => env.SOCKET_GAUGE.getByName(`gauge-${n}`).total()),
  );
  return totals.reduce((sum, n) => sum + n, 0);
}
