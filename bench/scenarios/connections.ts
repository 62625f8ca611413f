// Scenario 5, connections: N users connect and authenticate (the baseline: connect and say hello),
// then stay connected for a while, each heartbeating once at a random moment in it, as the SDK
// does every 30 s. Measured: failures, the time to connect all, the heartbeat round trip, workerd's
// memory and descriptors per socket, and from those what bounds the number of sockets: each
// process in the path has a descriptor limit, and the client needs a local port per socket.
import { readFileSync } from "node:fs";
import type { ChatClient, ChatSystem } from "../clients/systems.ts";
import { cmdline, fdLimit, openFds, rssBytes } from "../lib/proc.ts";
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
  /** At most this many new connections a second (null: as fast as they open). */
  ratePerSec: number | null;
  /**
   * Sockets closed a second at the end. Each close wakes its user's object (webSocketClose), and an
   * awake object holds its SQLite files for ~10 s: closing 5,000 at once woke 5,000 objects, ran
   * workerd out of descriptors and crashed it (docs/PERFORMANCE.md).
   */
  closeRatePerSec: number;
  /** After closing all, wait at most this long for workerd to release their descriptors. */
  settleMs: number;
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

/** Opens a socket for each user, `concurrency` at a time, until done or too many failed. */
async function openAll(system: ChatSystem, users: string[], o: ConnectionsOptions, errors: ErrorTally) {
  const clients: ChatClient[] = [];
  const times = new Samples();
  const started = nowMs();
  let next = 0;
  let failures = 0;
  const opener = async () => {
    while (next < users.length && failures < o.maxFailures) {
      const i = next++;
      const userId = users[i] as string;
      if (o.ratePerSec) await sleep(started + (i * 1000) / o.ratePerSec - nowMs());
      const t = nowMs();
      try {
        clients.push(await system.connect(userId));
        times.add(nowMs() - t);
      } catch (error) {
        failures++;
        errors.add(error);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, opener));
  if (failures >= o.maxFailures) errors.add(`stopped opening after ${failures} failures`);
  return { clients, times, seconds: (nowMs() - started) / 1000 };
}

async function answers(origin: string): Promise<boolean> {
  try {
    return (await fetch(`${origin}/health`, { signal: AbortSignal.timeout(5_000) })).ok;
  } catch {
    return false;
  }
}

function isWorkerd(pid: number | null): boolean {
  return pid !== null && cmdline(pid).includes("workerd");
}

function readAll(processes: Record<string, number | null>): Record<string, ProcessReading | null> {
  return Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, reading(pid)]));
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
  const before = readAll(processes);

  const meter = cpuMeter(server);
  const first = await openAll(system, users, o, errors);
  const connectCpu = meter.stop();
  const clients = first.clients;
  const connectSeconds = first.seconds;

  // Hold: every socket heartbeats once at a random moment.
  await sleep(500);
  const afterConnect = readAll(processes);
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
  const held = readAll(processes);
  const closedByServer = clients.filter((c) => c.closed).length;
  if (closedByServer > 0) errors.add(`${closedByServer} sockets closed while held`);
  for (let i = 0; i < clients.length; i++) {
    clients[i]?.terminate();
    if ((i + 1) % Math.max(1, Math.round(o.closeRatePerSec / 10)) === 0) await sleep(100);
  }
  // Past its descriptor limit workerd can fail outright (every socket drops): say so, and read the
  // per-socket figures from before it went.
  const survived = isWorkerd(server.pids.runtime) && (await answers(server.origin));
  if (!survived)
    errors.add("the workerd runtime exited or stopped answering while the sockets were held (see its log)");

  // The same users again: their objects and storage exist now (the first connect created them).
  // Each close wakes its user's object (webSocketClose), which opens its SQLite files again; wait
  // until workerd has let them go, or the reconnects would measure the descriptor limit instead.
  const settledAt = nowMs();
  const runtimePid = server.pids.runtime;
  const baseFds = before["workerd runtime"]?.fds ?? null;
  while (survived && runtimePid && baseFds !== null && nowMs() - settledAt < o.settleMs) {
    if ((openFds(runtimePid) ?? 0) <= baseFds + 100) break;
    await sleep(250);
  }
  const settleSeconds = (nowMs() - settledAt) / 1000;
  const reconnectErrors = new ErrorTally();
  const again = survived
    ? await openAll(
        system,
        clients.map((c) => c.userId),
        o,
        reconnectErrors,
      )
    : { clients: [], times: new Samples(), seconds: 0 };
  for (const c of again.clients) c.terminate();

  const connected = clients.length;
  const atConnect = perSocketFigures(processes, before, afterConnect, connected);
  const atEnd = survived ? perSocketFigures(processes, before, held, connected) : atConnect;
  const ports = localPortRange();
  const bounds = (figures: PerSocket) => {
    const list = Object.entries(figures)
      .filter(([, v]) => v.maxSockets !== null)
      .map(([name, v]) => ({
        by: `${name} descriptors (limit ${v.fdLimit}, ${v.fdsPerSocket} per socket)`,
        max: v.maxSockets as number,
      }));
    return list.sort((a, b) => a.max - b.max);
  };
  const steadyBounds = bounds(atEnd);
  const portBound = ports
    ? { by: "client local ports to one address:port (ip_local_port_range)", max: ports }
    : null;
  const runtime = atEnd["workerd runtime"];
  const hb = heartbeat.summary();

  return {
    figures: {
      connected,
      failures: errors.total,
      connectSeconds: round(connectSeconds, 2),
      connectsPerSec: round(connected / connectSeconds, 0),
      reconnectsPerSec: again.seconds > 0 ? round(again.clients.length / again.seconds, 0) : null,
      reconnectFailures: reconnectErrors.total,
      kbPerSocket: runtime?.kbPerSocket ?? null,
      fdsPerSocket: runtime?.fdsPerSocket ?? null,
      heartbeatP99: hb.p99,
      maxSockets: steadyBounds[0]?.max ?? null,
    },
    details: {
      options: o,
      connectMs: first.times.summary(),
      reconnectMs: again.times.summary(),
      reconnected: again.clients.length,
      reconnectErrors: reconnectErrors.toJSON(),
      secondsToReleaseAfterClose: round(settleSeconds, 1),
      heartbeatMs: hb,
      // Just after connecting every user's object is awake; after the hold, idle objects have
      // hibernated (workerd evicts them after ~10 s and closes their SQLite files).
      perSocketAfterConnect: atConnect,
      perSocketAfterHold: atEnd,
      boundAfterConnect: bounds(atConnect)[0] ?? null,
      bound: steadyBounds[0] ?? null,
      bounds: portBound ? [...steadyBounds, portBound] : steadyBounds,
      runtimeSurvived: survived,
      readings: { before, afterConnect, afterHold: held },
      cpuWhileHolding: holdCpu,
    },
    errors: errors.toJSON(),
    cpu: connectCpu,
  };
}

interface PerSocketFigure {
  kbPerSocket: number | null;
  fdsPerSocket: number | null;
  fdLimit: number | null;
  /** Sockets this process could hold before its descriptor limit, at this many per socket. */
  maxSockets: number | null;
}
type PerSocket = Record<string, PerSocketFigure>;
type Readings = Record<string, ProcessReading | null>;

function perSocketFigures(
  processes: Record<string, number | null>,
  before: Readings,
  after: Readings,
  sockets: number,
): PerSocket {
  return Object.fromEntries(
    Object.keys(processes).map((name) => {
      const b = before[name];
      const a = after[name];
      const bytes = b?.rss != null && a?.rss != null && sockets > 0 ? (a.rss - b.rss) / sockets : null;
      const fds = b?.fds != null && a?.fds != null && sockets > 0 ? (a.fds - b.fds) / sockets : null;
      const limit = a?.fdLimit ?? null;
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
}
