// Scenario 4, D1 lag (server only): messages sent at a steady rate; for each, the time from its
// SEND_MSG_RSP (the ack) until its row is in D1's history table. D1 is read straight from the local
// database file under --persist-to with node:sqlite, read-only, every POLL_MS: no server endpoint is
// added and the server is not asked anything. The poll interval bounds the resolution.
import { ImConnection, singleConversationId } from "../clients/im-connection.ts";
import type { ImSystem } from "../clients/systems.ts";
import { openLocalHistoryD1s } from "../lib/local-d1.ts";
import { ErrorTally, nowMs, Samples, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface D1LagOptions {
  pairs: number;
  ratePerSec: number;
  durationMs: number;
  /** After the last send, how long to wait for acks and rows. */
  drainMs: number;
}

const POLL_MS = 10;

export async function d1Lag(system: ImSystem, o: D1LagOptions): Promise<ScenarioResult> {
  const origin = system.server.origin;
  const errors = new ErrorTally();
  const userIds = await system.reuseUsers(o.pairs * 2, "d");
  const clients = await mapLimited(userIds, 20, (id) => ImConnection.open(origin, system.account(id)));
  // History is sharded (docs/ARCHITECTURE.md, "History shards"): every shard's new rows are watched.
  const dbs = openLocalHistoryD1s(system.server.persistDir, { readOnly: true });
  const ackedAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const lag = new Samples();
  const shards = dbs.map((db) => ({
    newRows: db.prepare(
      "SELECT rowid AS r, conversation_id AS c, seq AS s FROM messages WHERE rowid > ? ORDER BY rowid",
    ),
    lastRowid: Number(
      (db.prepare("SELECT COALESCE(MAX(rowid), 0) AS r FROM messages").get() as { r: number }).r,
    ),
  }));
  const poll = () => {
    const now = nowMs();
    for (const shard of shards) pollShard(shard, now);
  };
  const pollShard = (shard: (typeof shards)[number], now: number) => {
    for (const row of shard.newRows.all(shard.lastRowid) as { r: number; c: string; s: number }[]) {
      shard.lastRowid = row.r;
      const key = `${row.c}#${row.s}`;
      const acked = ackedAt.get(key);
      if (acked === undefined) seenAt.set(key, now);
      else {
        ackedAt.delete(key);
        lag.add(now - acked);
      }
    }
  };
  const poller = setInterval(poll, POLL_MS);

  let acked = 0;
  let sentCount = 0;
  try {
    const interval = (1000 * o.pairs) / o.ratePerSec;
    const stopAt = nowMs() + o.durationMs;
    const meter = cpuMeter(system.server);
    await Promise.all(
      Array.from({ length: o.pairs }, async (_, i) => {
        const sender = clients[2 * i] as ImConnection;
        const receiver = clients[2 * i + 1] as ImConnection;
        const conversationId = singleConversationId(sender.userId, receiver.userId);
        await sleep((interval * i) / o.pairs);
        for (let next = nowMs(); next < stopAt; next += interval) {
          await sleep(next - nowMs());
          sentCount++;
          sender.sendText(receiver.userId, "d1 lag".padEnd(64, "x")).then(
            (response) => {
              acked++;
              const key = `${conversationId}#${response.seq}`;
              // A row seen before its ack arrived was in D1 by then: its lag counts as 0.
              if (seenAt.delete(key)) lag.add(0);
              else ackedAt.set(key, nowMs());
            },
            (error: unknown) => errors.add(error),
          );
        }
      }),
    );
    const cpu = meter.stop();
    // Acks still on their way are at most one request timeout late; then wait for their rows.
    const drainBy = nowMs() + o.drainMs;
    while ((ackedAt.size > 0 || acked + errors.total < sentCount) && nowMs() < drainBy) await sleep(50);
    poll();
    if (ackedAt.size > 0) errors.add(`${ackedAt.size} acked rows not in D1 after ${o.drainMs} ms`);
    const summary = lag.summary();
    return {
      figures: {
        p50: summary.p50,
        p95: summary.p95,
        p99: summary.p99,
        max: summary.max,
        failures: errors.total,
      },
      details: { options: o, pollMs: POLL_MS, sent: sentCount, acked, inD1: lag.count, lagMs: summary },
      errors: errors.toJSON(),
      cpu,
    };
  } finally {
    clearInterval(poller);
    for (const db of dbs) db.close();
    for (const c of clients) c.close();
  }
}
