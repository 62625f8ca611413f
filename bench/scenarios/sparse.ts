// Scenario 7, sparse (issue 20): many quiet conversations, the pattern that matters in production.
// P one-to-one pairs (2×P users, one socket each) and G groups of 5 members drawn from those same
// users, so the socket count stays 2×P. Every conversation sends one message at a uniformly random
// interval of 2–10 s (the first at a random offset in [0, 10 s), so the start is spread): a pair from
// its one sender, a group from a random member each time. Receivers answer every push (MSG_ACK on
// the server, a "k" frame on the relay). After a warm-up, measured: offered msgs/s, deliveries/s
// (each recipient's push counts: a message to a group of 5 is 4 deliveries), send→push latency from
// the time a message was due, failures, and workerd CPU per delivered message: the runtime's CPU
// over the window (cores × window seconds × 1000, in ms) ÷ deliveries in the window.
import type { ChatClient, ChatSystem, UsageCounts } from "../clients/systems.ts";
import { cpuSeconds } from "../lib/proc.ts";
import { ErrorTally, nowMs, round, Samples, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { closePairs, connectPairs, sentAtOf, stampedContent, type Pair } from "./one-to-one.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface SparseOptions {
  pairs: number;
  groups: number;
  groupSize: number;
  minIntervalMs: number;
  maxIntervalMs: number;
  warmupMs: number;
  durationMs: number;
  contentBytes: number;
  /** After the schedule, how long to wait for the last pushes. */
  drainMs: number;
  /** Sockets closed a second at the end (each close wakes its user's object). */
  closeRatePerSec: number;
}

interface Group {
  id: string;
  members: ChatClient[];
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function closePaced(pairs: Pair[], perSec: number): Promise<void> {
  const step = Math.max(1, Math.round(perSec / 20)); // pairs (two sockets each) per 100 ms
  for (let i = 0; i < pairs.length; i += step) {
    closePairs(pairs.slice(i, i + step));
    if (i + step < pairs.length) await sleep(100);
  }
}

/** What the server counted over the window (src/lib/usage-meter.ts). */
function usageDelta(before: UsageCounts, after: UsageCounts): UsageCounts {
  const grown = (from: Record<string, number>, to: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const [key, count] of Object.entries(to)) {
      const grew = count - (from[key] ?? 0);
      if (grew > 0) out[key] = grew;
    }
    return out;
  };
  return {
    invocations: grown(before.invocations, after.invocations),
    storageRowsByStatement: grown(before.storageRowsByStatement, after.storageRowsByStatement),
    d1Calls: after.d1Calls - before.d1Calls,
    d1Statements: after.d1Statements - before.d1Statements,
    d1RowsWritten: after.d1RowsWritten - before.d1RowsWritten,
    storageWriteStatements: after.storageWriteStatements - before.storageWriteStatements,
    storageRowsWritten: after.storageRowsWritten - before.storageRowsWritten,
    alarmWrites: after.alarmWrites - before.alarmWrites,
  };
}

/** The counts per delivered message: invocations by kind (all objects), D1 and storage rows. */
function perDelivery(usage: UsageCounts | null, delivered: number): Record<string, number | null> {
  const per = (count: number | undefined) =>
    usage && delivered > 0 && count !== undefined ? round(count / delivered, 2) : null;
  const byKind = (kind: string) =>
    usage
      ? Object.entries(usage.invocations)
          .filter(([key]) => key.endsWith(`.${kind}`))
          .reduce((sum, [, count]) => sum + count, 0)
      : undefined;
  return {
    framesPerDelivery: per(byKind("frame")),
    rpcsPerDelivery: per(byKind("rpc")),
    alarmsPerDelivery: per(byKind("alarm")),
    startsPerDelivery: per(byKind("start")),
    requestsPerDelivery: per(byKind("request")),
    d1CallsPerDelivery: per(usage?.d1Calls),
    d1StatementsPerDelivery: per(usage?.d1Statements),
    d1RowsPerDelivery: per(usage?.d1RowsWritten),
    storageRowsPerDelivery: per(usage?.storageRowsWritten),
    alarmWritesPerDelivery: per(usage?.alarmWrites),
  };
}

/** Runs around the measuring window only (a CPU profile, say); what `start` returns ends it. */
export type WindowHook = () => Promise<() => Promise<void>>;

export async function sparse(
  system: ChatSystem,
  o: SparseOptions,
  duringWindow?: WindowHook,
): Promise<ScenarioResult> {
  const createGroup = system.createGroup?.bind(system);
  if (!createGroup) throw new Error(`${system.kind}: no groups in this system`);
  const setupStart = nowMs();
  const pairs = await connectPairs(system, o.pairs, "s");
  const connectSeconds = (nowMs() - setupStart) / 1000;
  try {
    const clients = pairs.flatMap(({ sender, receiver }) => [sender, receiver]);
    if (o.groups * o.groupSize > clients.length) throw new Error("more group seats than users");
    const seats = shuffled(clients);
    const groups: Group[] = await mapLimited(
      Array.from({ length: o.groups }, (_, g) => seats.slice(g * o.groupSize, (g + 1) * o.groupSize)),
      4,
      async (members) => {
        const [owner, ...rest] = members as [ChatClient, ...ChatClient[]];
        const id = await createGroup(
          owner.userId,
          rest.map((m) => m.userId),
        );
        return { id, members };
      },
    );
    await sleep(1_000); // let the creation notices land before counting pushes

    const latency = new Samples();
    const errors = new ErrorTally();
    const start = nowMs() + 50;
    const measureFrom = start + o.warmupMs;
    const stopAt = measureFrom + o.durationMs;
    let offered = 0;
    let delivered = 0;
    let expected = 0;
    let received = 0;

    for (const client of clients) {
      client.onPush = (content) => {
        const sentAt = sentAtOf(content);
        if (!Number.isFinite(sentAt)) return; // not one of ours (a group notice)
        received++;
        const now = nowMs();
        if (sentAt >= measureFrom && sentAt < stopAt) latency.add(now - sentAt);
        if (now >= measureFrom && now < stopAt) delivered++;
      };
    }

    const interval = () => o.minIntervalMs + Math.random() * (o.maxIntervalMs - o.minIntervalMs);
    const timers = new Set<ReturnType<typeof setTimeout>>();
    /** Sends at `due` (stamped with it), then schedules the next one. */
    const schedule = (
      due: number,
      send: (content: string) => { recipients: number; sent: Promise<void> },
    ) => {
      if (due >= stopAt) return;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (due >= measureFrom) offered++;
          const { recipients, sent } = send(stampedContent(due, o.contentBytes));
          expected += recipients;
          sent.catch((error: unknown) => {
            expected -= recipients;
            errors.add(error);
          });
          schedule(due + interval(), send);
        },
        Math.max(0, due - nowMs()),
      );
      timers.add(timer);
    };
    const firstDue = () => start + Math.random() * o.maxIntervalMs;
    for (const { sender, receiver } of pairs) {
      schedule(firstDue(), (content) => ({ recipients: 1, sent: sender.send(receiver.userId, content) }));
    }
    for (const group of groups) {
      schedule(firstDue(), (content) => {
        const from = group.members[Math.floor(Math.random() * group.members.length)] as ChatClient;
        const others = group.members.filter((m) => m !== from).map((m) => m.userId);
        return { recipients: others.length, sent: from.sendToGroup(group.id, others, content) };
      });
    }

    // The runtime's CPU seconds read unrounded at both ends of the window, for the figure per message.
    const runtimePid = system.server.pids.runtime;
    await sleep(measureFrom - nowMs());
    const endHook = duringWindow ? await duringWindow() : null;
    const usageBefore = await system.usage?.();
    const meter = cpuMeter(system.server);
    const runtimeBefore = runtimePid ? cpuSeconds(runtimePid) : null;
    await sleep(stopAt - nowMs());
    const runtimeAfter = runtimePid ? cpuSeconds(runtimePid) : null;
    const cpu = meter.stop();
    const usageAfter = await system.usage?.();
    const usage = usageBefore && usageAfter ? usageDelta(usageBefore, usageAfter) : null;
    await endHook?.();
    for (const timer of timers) clearTimeout(timer);
    const drainUntil = nowMs() + o.drainMs;
    while (received < expected && nowMs() < drainUntil) await sleep(50);
    for (const client of clients) client.onPush = null;
    if (received < expected)
      errors.add(`${expected - received} deliveries were not pushed within ${o.drainMs} ms`);

    const seconds = o.durationMs / 1000;
    const runtimeCpuMs =
      runtimeBefore !== null && runtimeAfter !== null ? (runtimeAfter - runtimeBefore) * 1000 : null;
    const summary = latency.summary();
    return {
      figures: {
        sockets: clients.length,
        offeredPerSec: round(offered / seconds, 0),
        deliveriesPerSec: round(delivered / seconds, 0),
        p50: summary.p50,
        p95: summary.p95,
        p99: summary.p99,
        max: summary.max,
        failures: errors.total,
        workerdCores: cpu["workerd runtime"] ?? null,
        cpuMsPerDelivery: runtimeCpuMs !== null && delivered > 0 ? round(runtimeCpuMs / delivered, 3) : null,
        ...perDelivery(usage, delivered),
      },
      details: {
        options: o,
        connectSeconds: round(connectSeconds),
        offered,
        delivered,
        runtimeCpuMs: round(runtimeCpuMs),
        expected,
        received,
        latencyMs: summary,
        usageInWindow: usage,
      },
      errors: errors.toJSON(),
      cpu,
    };
  } finally {
    await closePaced(pairs, o.closeRatePerSec);
  }
}
