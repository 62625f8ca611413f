// Scenario 2, fixed rate: the same pairs, but each sender sends on a fixed schedule (open loop) so
// that all together send R messages per second, whatever the acks do. Latency runs from the time a
// message was *due* to its push, so a sender that falls behind shows up in the figures (no
// coordinated omission).
import type { ChatSystem } from "../clients/systems.ts";
import { stallSummary, type SlowMessage } from "../lib/stalls.ts";
import { ErrorTally, nowMs, round, Samples, sleep } from "../lib/stats.ts";
import { sentAtOf, stampedContent, type Pair } from "./one-to-one.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface FixedRateOptions {
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
  contentBytes: number;
  /** A sender with this many unacked sends skips its turn (counted) rather than pile up without bound. */
  maxInFlightPerSender: number;
  /** After the schedule, how long to wait for the last pushes. */
  drainMs: number;
}

const TICK_MS = 2;
/** Messages slower than this (ms) are grouped into stalls (lib/stalls.ts); at most MAX_SLOW kept. */
const SLOW_MS = 50;
const MAX_SLOW = 20_000;

/** Runs the open loop over pairs from connectPairs (the same pairs as the one-to-one scenario). */
export async function fixedRate(
  system: ChatSystem,
  pairs: Pair[],
  o: FixedRateOptions,
): Promise<ScenarioResult> {
  const latency = new Samples();
  // How late the client sent each message after it was due (its 2 ms tick, its own event loop):
  // part of every latency figure here, whichever system is measured.
  const sendLag = new Samples();
  const slow: SlowMessage[] = [];
  const errors = new ErrorTally();
  const interval = (1000 * pairs.length) / o.ratePerSec;
  const start = nowMs() + 50;
  const measureFrom = start + o.warmupMs;
  const stopAt = measureFrom + o.durationMs;
  // Senders start evenly spread over one interval.
  const due = pairs.map((_, i) => start + (interval * i) / pairs.length);
  const inFlight = new Array<number>(pairs.length).fill(0);
  let sent = 0;
  let skipped = 0;
  let delivered = 0;
  let expected = 0;
  let received = 0;

  pairs.forEach(({ receiver }, pair) => {
    receiver.onPush = (content) => {
      received++;
      const sentAt = sentAtOf(content);
      const now = nowMs();
      // Latency for every message due in the window, whenever it lands; the rate only within it.
      if (sentAt >= measureFrom && sentAt < stopAt) {
        latency.add(now - sentAt);
        if (now - sentAt > SLOW_MS && slow.length < MAX_SLOW)
          slow.push({ at: sentAt, latencyMs: now - sentAt, pair });
      }
      if (now >= measureFrom && now < stopAt) delivered++;
    };
  });

  let meter: ReturnType<typeof cpuMeter> | null = null;
  while (nowMs() < stopAt) {
    const now = nowMs();
    if (!meter && now >= measureFrom) meter = cpuMeter(system.server);
    pairs.forEach(({ sender, receiver }, i) => {
      while ((due[i] as number) <= now && (due[i] as number) < stopAt) {
        const at = due[i] as number;
        due[i] = at + interval;
        const measured = at >= measureFrom;
        if (inFlight[i]! >= o.maxInFlightPerSender) {
          if (measured) skipped++;
          continue;
        }
        inFlight[i]!++;
        expected++;
        if (measured) {
          sent++;
          sendLag.add(nowMs() - at);
        }
        sender.send(receiver.userId, stampedContent(at, o.contentBytes)).then(
          () => inFlight[i]!--,
          (error: unknown) => {
            inFlight[i]!--;
            expected--;
            errors.add(error);
          },
        );
      }
    });
    await sleep(TICK_MS);
  }
  const cpu = (meter as ReturnType<typeof cpuMeter> | null)?.stop() ?? {};
  const drainUntil = nowMs() + o.drainMs;
  while (received < expected && nowMs() < drainUntil) await sleep(20);
  for (const { receiver } of pairs) receiver.onPush = null;
  if (received < expected)
    errors.add(`${expected - received} messages were not pushed within ${o.drainMs} ms`);
  if (skipped > 0) errors.add(`${skipped} sends skipped: ${o.maxInFlightPerSender} already unacked`);

  const summary = latency.summary();
  const seconds = o.durationMs / 1000;
  return {
    figures: {
      ratePerSec: o.ratePerSec,
      achievedPerSec: round(delivered / seconds, 0),
      p50: summary.p50,
      p95: summary.p95,
      p99: summary.p99,
      max: summary.max,
      failures: errors.total,
    },
    details: {
      options: o,
      sent,
      delivered,
      skipped,
      latencyMs: summary,
      sendLagMs: sendLag.summary(),
      stalls: stallSummary(slow, SLOW_MS),
    },
    errors: errors.toJSON(),
    cpu,
  };
}
