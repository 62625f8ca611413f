// Scenario 1, one-to-one: P sender/receiver pairs; each sender keeps up to W sends in flight and sends
// again as each is acked (closed loop) for a fixed time. Measured: pushes delivered per second and
// the send→push latency, from the send timestamp embedded in the content to the push's arrival.
import type { ChatClient, ChatSystem } from "../clients/systems.ts";
import { ErrorTally, nowMs, round, Samples, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface OneToOneOptions {
  /** Sender/receiver pairs (connected by connectPairs). */
  pairs: number;
  window: number;
  /** Closed loop before measuring (JIT, object start-up), not counted. */
  warmupMs: number;
  durationMs: number;
  contentBytes: number;
  /** After the loop, how long to wait for the last pushes before counting the missing as lost. */
  drainMs: number;
}

export interface Pair {
  sender: ChatClient;
  receiver: ChatClient;
}

/** Content is "<send time in ms>|xxxx…", padded to `bytes`. */
export function stampedContent(sentAt: number, bytes: number): string {
  const stamp = `${sentAt.toFixed(3)}|`;
  return stamp.padEnd(bytes, "x");
}

export function sentAtOf(content: string): number {
  return Number.parseFloat(content);
}

/** Registers and connects P pairs and proves each pair can talk (one message each way first). */
export async function connectPairs(system: ChatSystem, count: number, label: string): Promise<Pair[]> {
  const users = await system.users(count * 2, label);
  const clients = await mapLimited(users, 20, (userId) => system.connect(userId));
  const pairs = Array.from({ length: count }, (_, i) => ({
    sender: clients[2 * i] as ChatClient,
    receiver: clients[2 * i + 1] as ChatClient,
  }));
  // The first message of a conversation starts its object (and on the server checks D1 for both users).
  await mapLimited(pairs, 10, async ({ sender, receiver }) => {
    const pushed = new Promise<void>((resolve) => (receiver.onPush = () => resolve()));
    await sender.send(receiver.userId, stampedContent(nowMs(), 16));
    await Promise.race([pushed, sleep(15_000)]);
    receiver.onPush = null;
  });
  return pairs;
}

export function closePairs(pairs: Pair[]): void {
  for (const { sender, receiver } of pairs) {
    sender.close();
    receiver.close();
  }
}

/** Runs the closed loop over pairs from connectPairs (`o.pairs` of them). */
export async function oneToOne(
  system: ChatSystem,
  pairs: Pair[],
  o: OneToOneOptions,
): Promise<ScenarioResult> {
  const latency = new Samples();
  const ackLatency = new Samples();
  const errors = new ErrorTally();
  const start = nowMs();
  const measureFrom = start + o.warmupMs;
  const measureTo = measureFrom + o.durationMs;
  let delivered = 0;
  let acked = 0;
  const ackedPerPair = new Array<number>(pairs.length).fill(0);
  const receivedPerPair = new Array<number>(pairs.length).fill(0);
  let meter: ReturnType<typeof cpuMeter> | null = null;
  const meterStart = setTimeout(() => (meter = cpuMeter(system.server)), o.warmupMs);

  pairs.forEach(({ receiver }, i) => {
    receiver.onPush = (content) => {
      receivedPerPair[i]!++;
      const now = nowMs();
      if (now >= measureFrom && now < measureTo) {
        delivered++;
        latency.add(now - sentAtOf(content));
      }
    };
  });

  const senderLoops = pairs.map(({ sender, receiver }, i) => {
    let inFlight = 0;
    return new Promise<void>((done) => {
      const pump = () => {
        while (inFlight < o.window && nowMs() < measureTo) {
          inFlight++;
          const sentAt = nowMs();
          sender.send(receiver.userId, stampedContent(sentAt, o.contentBytes)).then(
            () => {
              ackedPerPair[i]!++;
              const now = nowMs();
              if (now >= measureFrom && now < measureTo) {
                acked++;
                ackLatency.add(now - sentAt);
              }
              inFlight--;
              pump();
            },
            (error: unknown) => {
              errors.add(error);
              inFlight--;
              // Back off a little after a failure so a broken socket does not spin.
              setTimeout(pump, 100);
            },
          );
        }
        if (inFlight === 0 && nowMs() >= measureTo) done();
      };
      pump();
    });
  });

  // Every loop stops by itself at measureTo; the bound here only guards against a stuck ack.
  await Promise.race([Promise.all(senderLoops), sleep(measureTo - nowMs() + 20_000)]);
  clearTimeout(meterStart);
  const cpu = (meter as ReturnType<typeof cpuMeter> | null)?.stop() ?? {};
  // Let the last pushes land before counting losses.
  const drainUntil = nowMs() + o.drainMs;
  const missing = () => pairs.reduce((n, _, i) => n + Math.max(0, ackedPerPair[i]! - receivedPerPair[i]!), 0);
  while (missing() > 0 && nowMs() < drainUntil) await sleep(50);
  const lost = missing();
  for (const { receiver } of pairs) receiver.onPush = null;
  if (lost > 0) errors.add(`${lost} acked messages were not pushed within ${o.drainMs} ms`);

  const seconds = o.durationMs / 1000;
  const summary = latency.summary();
  const ack = ackLatency.summary();
  // Throughput per core of the workerd runtime: far less sensitive to other load on the machine.
  const runtimeCores = cpu["workerd runtime"];
  return {
    figures: {
      msgsPerSec: round(delivered / seconds, 0),
      msgsPerCoreSec: runtimeCores ? round(delivered / seconds / runtimeCores, 0) : null,
      ackedPerSec: round(acked / seconds, 0),
      p50: summary.p50,
      p95: summary.p95,
      p99: summary.p99,
      max: summary.max,
      ackP50: ack.p50,
      ackP99: ack.p99,
      failures: errors.total,
    },
    details: { options: o, delivered, acked, lost, latencyMs: summary, ackLatencyMs: ack },
    errors: errors.toJSON(),
    cpu,
  };
}
