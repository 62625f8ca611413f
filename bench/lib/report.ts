// The table: each figure for the server and the baseline, their ratio, the target and whether it is
// met. Rows are built from the scenario results; the same rows go to the console and the JSON.
import type { ScenarioResult } from "../scenarios/result.ts";

export interface Row {
  scenario: string;
  figure: string;
  unit: string;
  server: number | null;
  baseline: number | null;
  /** server ÷ baseline. */
  ratio: number | null;
  target: string;
  met: boolean | null;
}

export interface RowSpec {
  key: string;
  figure: string;
  unit: string;
  target?: string;
  /** False where the two systems' figures are taken at different rates: no ratio then. */
  ratio?: boolean;
  /** Whether the target is met, given the server's figure and the ratio to the baseline. */
  check?: (server: number, ratio: number | null) => boolean;
}

export interface ScenarioOutcome {
  server?: ScenarioResult;
  baseline?: ScenarioResult;
  skipped?: string;
  error?: { server?: string; baseline?: string };
}

export function rowsFor(scenario: string, outcome: ScenarioOutcome, specs: RowSpec[]): Row[] {
  if (outcome.skipped) {
    return [
      {
        scenario,
        figure: "skipped (see results JSON)",
        unit: "",
        server: null,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
    ];
  }
  return specs.map((spec) => {
    const server = outcome.server?.figures[spec.key] ?? null;
    const baseline = outcome.baseline?.figures[spec.key] ?? null;
    const ratio =
      spec.ratio !== false && server !== null && baseline !== null && baseline !== 0
        ? Math.round((server / baseline) * 100) / 100
        : null;
    return {
      scenario,
      figure: spec.figure,
      unit: spec.unit,
      server,
      baseline,
      ratio,
      target: spec.target ?? "",
      met: spec.check && server !== null ? spec.check(server, ratio) : null,
    };
  });
}

function cell(value: number | null): string {
  if (value === null) return "–";
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-US") : String(value);
}

export function formatTable(rows: Row[]): string {
  const header = ["scenario", "figure", "server", "baseline", "ratio", "target", "met"];
  const body = rows.map((r) => [
    r.scenario,
    r.unit ? `${r.figure} (${r.unit})` : r.figure,
    cell(r.server),
    cell(r.baseline),
    r.ratio === null ? "–" : `${r.ratio}×`,
    r.target,
    r.met === null ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function formatCpu(label: string, cpu: Record<string, number | null>): string {
  const parts = Object.entries(cpu).map(([name, cores]) => `${name} ${cores ?? "?"}`);
  return `  cpu (cores) ${label}: ${parts.join(", ")}`;
}
