// `node bench/plot.ts [results.json] [out.svg]`: draws the latency sweep of a results file (default
// bench/results/latest.json) as bench/results/latency-sweep.svg; `npm run bench` does it at the end.
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { sweepPlot, type SweepResults } from "./lib/sweep-plot.ts";

const root = join(import.meta.dirname, "..");
const input = process.argv[2] ?? join(root, "bench/results/latest.json");
const output = process.argv[3] ?? join(root, "bench/results/latency-sweep.svg");
const svg = sweepPlot(JSON.parse(readFileSync(input, "utf8")) as SweepResults);
if (!svg) {
  console.error(`${input} holds no latency-sweep results (npm run bench -- --only one-to-one,latency-sweep)`);
  process.exit(1);
}
writeFileSync(output, svg);
console.log(`wrote ${relative(process.cwd(), output)}`);
