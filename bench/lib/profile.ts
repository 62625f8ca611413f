// A CPU profile of the Worker's isolate (its Durable Objects included) while a scenario runs, taken
// through the DevTools inspector that `wrangler dev` serves (--inspector-port), and a summary of
// the functions with the most self time. The .cpuprofile opens in Chrome DevTools.
import { writeFileSync } from "node:fs";
import { connectInspector } from "./inspector.ts";
import type { RunningServer } from "./server.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface CpuProfile {
  stop(file: string): Promise<{ path: string; top: string }>;
}

export async function startCpuProfile(server: RunningServer): Promise<CpuProfile | null> {
  try {
    const inspector = await connectInspector(server);
    const call = inspector.call;
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 500 });
    await call("Profiler.start");
    return {
      async stop(file) {
        const { profile } = (await call("Profiler.stop")) as { profile: Profile };
        inspector.close();
        writeFileSync(file, JSON.stringify(profile));
        return { path: file, top: topSelfTime(profile) };
      },
    };
  } catch (error) {
    console.warn(`  cpu profile not taken: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** The functions with the most self time, by share of all samples. */
export function topSelfTime(profile: Profile, count = 15): string {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples?.length ?? 0;
  const byFunction = new Map<string, number>();
  for (const [id, n] of hits) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.split("/").slice(-2).join("/");
    const name =
      `${frame.functionName || "(anonymous)"} ${file ? `${file}:${frame.lineNumber + 1}` : ""}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  }
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, n]) => `    ${((100 * n) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${name}`)
    .join("\n");
}
