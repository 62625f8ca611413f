// The latency sweep's plot: p50 and p99 send→push against offered load for the server and the
// baseline, from a results file's "latency-sweep" outcome (bench/scenarios/latency-sweep.ts).
import { lineChart, type Series } from "./svg-chart.ts";

interface Step {
  label: string;
  ratePerSec: number;
  p50: number | null;
  p99: number | null;
}

/** What the plot reads of a results file (bench/run.ts writes it). */
export interface SweepResults {
  mode?: string;
  startedAt?: string;
  git?: { commit?: string | null; dirty?: boolean | null };
  scenarios?: {
    "latency-sweep"?: Partial<Record<"server" | "baseline", { details?: { steps?: Step[] } }>>;
  };
}

const COLORS = { server: "#d62728", baseline: "#1f77b4" };

/** The SVG text, or null when the results hold no sweep. */
export function sweepPlot(results: SweepResults): string | null {
  const sweep = results.scenarios?.["latency-sweep"];
  const series: Series[] = [];
  for (const system of ["server", "baseline"] as const) {
    const steps = sweep?.[system]?.details?.steps ?? [];
    if (steps.length === 0) continue;
    for (const [p, dash] of [
      ["p50", undefined],
      ["p99", "6 4"],
    ] as const) {
      series.push({
        name: `${system} ${p}`,
        color: COLORS[system],
        dash,
        points: steps.flatMap((s) => (s[p] === null ? [] : [{ x: s.ratePerSec, y: s[p] }])),
      });
    }
  }
  if (series.length === 0) return null;
  const commit = results.git?.commit
    ? ` at ${results.git.commit.slice(0, 7)}${results.git.dirty ? "+" : ""}`
    : "";
  const when = results.startedAt ? `, ${results.startedAt.slice(0, 16).replace("T", " ")} UTC` : "";
  return lineChart({
    title: "One-to-one send→push latency against offered load (fixed rate)",
    subtitle: [
      `${results.mode ?? "?"} run${commit}${when}`,
      "each system at 10, 25, 50 and 75% of its own closed-loop maximum; the baseline also at the server's 25%",
    ],
    xLabel: "offered load (msgs/s)",
    yLabel: "send→push latency (ms, log scale)",
    series,
    rules: [{ y: 50, label: "p99 target at 50%: 50 ms" }],
  });
}
