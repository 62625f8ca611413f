// Scenario 5, connections: N users connect and authenticate (the baseline: connect and say hello),
// then stay connected for a while, each heartbeating once at a random moment in it, as the SDK
// does every 30 s. Measured: failures, the time to connect all, the heartbeat round trip, workerd's
// memory and descriptors per socket, and from those what bounds the number of sockets: each
// process in the path has a descriptor limit, and the client needs a local port per socket.
import { readFileSync } from "node:fs";
import type { ChatClient, ChatSystem } from "../clients/systems.ts";
import { fdLimit, openFds, rssBytes } from "../lib/proc.ts";
import { ErrorTally, nowMs, round, Samples, sleep } from "../lib/stats.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface ConnectionsOptions {
  count: number;
  /** Connections being opened at once. */
  concurrency: number;
  /** How long all stay connected, heartbeating. */
  holdMs: number;
  /** Stop opening more after this many failures (the bound is reported, not hit blindly). */
  maxFailures: number;
}

interface ProcessReading {
  pid: number;
  rss: number | null;
  fds: number | null;
  fdLimit: number | null;
}

function reading(pid: number | null): ProcessReading | null {
  if (!pid) return null;
  return { pid, rss: rssBytes(pid), fds: openFds(pid), fdLimit: fdLimit(pid) };
}

function localPortRange(): number | null {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    return Number(high) - Number(low) + 1;
  } catch {
    return null;
  }
}

export async function connections(system: ChatSystem, o: ConnectionsOptions): Promise<ScenarioResult> {
  const errors = new ErrorTally();
  const users = await system.connectOnlyUsers(o.count, "c");
  const server = system.server;
  const processes = {
    "workerd runtime": server.pids.runtime,
    ...(server.via === "proxy" ? { "workerd dev proxy": server.pids.proxy } : {}),
    "client (node)": process.pid,
  };
  const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, reading(pid)]));

  const clients: ChatClient[] = [];
  const connectTimes = new Samples();
  const meter = cpuMeter(server);
  const started = nowMs();
  let next = 0;
  let failures = 0;
  const opener = async () => {
    while (next < users.length && failures < o.maxFailures) {
      const userId = users[next++] as string;
      const t = nowMs();
      try {
        clients.push(await system.connect(userId));
        connectTimes.add(nowMs() - t);
      } catch (error) {
        failures++;
        errors.add(error);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, opener));
  const connectSeconds = (nowMs() - started) / 1000;
  const connectCpu = meter.stop();
  if (failures >= o.maxFailures) errors.add(`stopped opening after ${failures} failures`);

  // Hold: every socket heartbeats once at a random moment.
  await sleep(500);
  const held = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, reading(pid)]));
  const heartbeat = new Samples();
  const holdMeter = cpuMeter(server);
  await Promise.all(
    clients.map(async (client) => {
      await sleep(Math.random() * o.holdMs);
      const t = nowMs();
      try {
        await client.heartbeat();
        heartbeat.add(nowMs() - t);
      } catch (error) {
        errors.add(error);
      }
    }),
  );
  const holdCpu = holdMeter.stop();
  const closedByServer = clients.filter((c) => c.closed).length;
  if (closedByServer > 0) errors.add(`${closedByServer} sockets closed while held`);
  for (const c of clients) c.terminate();

  const connected = clients.length;
  const perSocket = Object.fromEntries(
    Object.keys(processes).map((name) => {
      const b = before[name];
      const h = held[name];
      const bytes = b?.rss != null && h?.rss != null && connected > 0 ? (h.rss - b.rss) / connected : null;
      const fds = b?.fds != null && h?.fds != null && connected > 0 ? (h.fds - b.fds) / connected : null;
      // Sockets this process could hold before its descriptor limit: the bound it sets.
      const limit = h?.fdLimit ?? null;
      const maxSockets =
        fds && fds > 0 && limit != null && b?.fds != null ? Math.floor((limit - b.fds) / fds) : null;
      return [
        name,
        {
          kbPerSocket: bytes === null ? null : round(bytes / 1024),
          fdsPerSocket: round(fds, 2),
          fdLimit: limit,
          maxSockets,
        },
      ];
    }),
  );
  const bounds = Object.entries(perSocket)
    .filter(([, v]) => v.maxSockets !== null)
    .map(([name, v]) => ({
      by: `${name} descriptors (limit ${v.fdLimit}, ${v.fdsPerSocket}/socket)`,
      max: v.maxSockets as number,
    }));
  const ports = localPortRange();
  if (ports) bounds.push({ by: "client local ports to one address:port (ip_local_port_range)", max: ports });
  bounds.sort((a, b) => a.max - b.max);
  const runtime = perSocket["workerd runtime"];
  const hb = heartbeat.summary();

  return {
    figures: {
      connected,
      failures: errors.total,
      connectSeconds: round(connectSeconds, 2),
      connectsPerSec: round(connected / connectSeconds, 0),
      kbPerSocket: runtime?.kbPerSocket ?? null,
      heartbeatP99: hb.p99,
      maxSockets: bounds[0]?.max ?? null,
    },
    details: {
      options: o,
      connectMs: connectTimes.summary(),
      heartbeatMs: hb,
      perSocket,
      bound: bounds[0] ?? null,
      bounds,
      before,
      held,
      cpuWhileConnecting: connectCpu,
    },
    errors: errors.toJSON(),
    cpu: holdCpu,
  };
}
