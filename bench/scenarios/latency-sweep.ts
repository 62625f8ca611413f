// Latency sweep (issue 17): one-to-one at fixed rates of 10, 25, 50 and 75% of the system's own
// closed-loop maximum (the one-to-one scenario's figure, measured just before in the same run), each
// step a fixed-rate run (open loop, latency from the time each message was due) over the same pairs,
// whose receivers answer every push with MSG_ACK as the SDK does. The baseline also runs at the
// server's 25% rate: the target compares the two systems' p99 at the same offered rate.
import type { ChatSystem } from "../clients/systems.ts";
import { formatCpu } from "../lib/report.ts";
import { round } from "../lib/stats.ts";
import { fixedRate, type FixedRateOptions } from "./fixed-rate.ts";
import type { Pair } from "./one-to-one.ts";
import type { ScenarioResult } from "./result.ts";
import type { StallSummary } from "../lib/stalls.ts";

export interface SweepOptions {
  fractions: number[];
  /** The fraction of the server's maximum at which both systems are compared. */
  sameRateFraction: number;
  step: Omit<FixedRateOptions, "ratePerSec">;
}

export interface SweepStep {
  /** "25%" of the system's own maximum, or "server's 25%". */
  label: string;
  fraction: number;
  /** Whose closed-loop maximum the fraction is of. */
  of: "own" | "server";
  ratePerSec: number;
  achievedPerSec: number | null;
  p50: number | null;
  p99: number | null;
  max: number | null;
  workerdCores: number | null;
  /** workerd CPU per delivered message (ms): what a message costs when it travels at this rate. */
  cpuMsPerMsg: number | null;
  /** CPU of everything on the machine that is not the benchmark (cores): the noise in the tail. */
  otherCores: number | null;
  /** How late the client sent, p99 (ms): inside every latency figure of the step. */
  sendLagP99: number | null;
  failures: number;
  result: ScenarioResult;
}

/** Whole percent of a fraction: the figures' key suffix (`p99At25`). */
export const percent = (fraction: number) => Math.round(fraction * 100);

async function step(
  system: ChatSystem,
  pairs: Pair[],
  o: SweepOptions,
  label: string,
  fraction: number,
  of: SweepStep["of"],
  ratePerSec: number,
): Promise<SweepStep> {
  const result = await fixedRate(system, pairs, { ...o.step, ratePerSec });
  const f = result.figures;
  const cores = result.cpu["workerd runtime"] ?? null;
  const delivered = f.achievedPerSec ?? null;
  const lag = (result.details.sendLagMs as { p99: number | null } | undefined)?.p99 ?? null;
  const s: SweepStep = {
    label,
    fraction,
    of,
    ratePerSec,
    achievedPerSec: f.achievedPerSec ?? null,
    p50: f.p50 ?? null,
    p99: f.p99 ?? null,
    max: f.max ?? null,
    workerdCores: cores,
    otherCores: result.cpu["other (not this benchmark)"] ?? null,
    cpuMsPerMsg: cores !== null && delivered ? round((cores * 1000) / delivered, 2) : null,
    sendLagP99: lag,
    failures: f.failures ?? 0,
    result,
  };
  console.log(
    `  ${label}: ${ratePerSec} msgs/s offered, ${s.achievedPerSec} delivered; p50 / p99 / max ` +
      `${s.p50} / ${s.p99} / ${s.max} ms; workerd ${cores} cores, ${s.cpuMsPerMsg} ms a message; ` +
      `client send lag p99 ${lag} ms; ${s.failures} failures`,
  );
  const st = result.details.stalls as StallSummary | undefined;
  if (st && st.slow > 0)
    console.log(
      `  over ${st.thresholdMs} ms: ${st.slow} messages in ${st.bursts} bursts, each touching ` +
        `${st.pairsPerBurstP50} pairs (p50; max ${st.pairsPerBurstMax}), lasting ${st.burstSpanP50Ms} ms ` +
        `(p50; max ${st.burstSpanMaxMs}), one every ${st.periodP50Ms} ms (p50)`,
    );
  console.log(formatCpu(`at ${label}`, result.cpu));
  return s;
}

/**
 * Runs the steps, lowest rate first. `ownMax` is this system's closed-loop msgs/s, `serverMax` the
 * server's (for the baseline's same-rate step; the server's own step at that fraction serves it).
 */
export async function latencySweep(
  system: ChatSystem,
  pairs: Pair[],
  ownMax: number,
  serverMax: number | null,
  o: SweepOptions,
): Promise<ScenarioResult> {
  const steps: SweepStep[] = [];
  for (const fraction of o.fractions) {
    const rate = Math.max(1, Math.round(ownMax * fraction));
    steps.push(await step(system, pairs, o, `${percent(fraction)}%`, fraction, "own", rate));
  }
  // The same-rate figures: the server's own step at that fraction; the baseline's extra step.
  const sameFraction = o.sameRateFraction;
  let same = system.kind === "server" ? (steps.find((s) => s.fraction === sameFraction) ?? null) : null;
  if (system.kind === "baseline" && serverMax) {
    const rate = Math.max(1, Math.round(serverMax * sameFraction));
    same = await step(system, pairs, o, `server's ${percent(sameFraction)}%`, sameFraction, "server", rate);
    steps.push(same);
  }

  const figures: ScenarioResult["figures"] = { closedLoopMax: ownMax };
  const errors: ScenarioResult["errors"] = {};
  for (const s of steps) {
    if (s.of === "own") {
      const k = percent(s.fraction);
      figures[`rate${k}`] = s.ratePerSec;
      figures[`p50At${k}`] = s.p50;
      figures[`p99At${k}`] = s.p99;
      figures[`maxAt${k}`] = s.max;
      figures[`coresAt${k}`] = s.workerdCores;
      figures[`cpuMsAt${k}`] = s.cpuMsPerMsg;
      figures[`otherAt${k}`] = s.otherCores;
    }
    for (const [what, n] of Object.entries(s.result.errors)) errors[`${s.label}: ${what}`] = n;
  }
  figures.sameRate = same?.ratePerSec ?? null;
  figures.sameRateP50 = same?.p50 ?? null;
  figures.sameRateP99 = same?.p99 ?? null;
  figures.failures = steps.reduce((n, s) => n + s.failures, 0);
  // The CPU readings of the step the main target is set at (every step's are in the details).
  const target = steps.find((s) => s.of === "own" && s.fraction === 0.5) ?? steps[steps.length - 1];
  return {
    figures,
    details: {
      options: o,
      ownMax,
      serverMax,
      steps: steps.map(({ result, ...rest }) => ({ ...rest, cpu: result.cpu, details: result.details })),
    },
    errors,
    cpu: target?.result.cpu ?? {},
  };
}
