// What every scenario returns for one system: its headline figures (the table), the details (the
// JSON), the failures it saw, and how much CPU each process used while it measured.
import { CpuMeter } from "../lib/proc.ts";
import type { RunningServer } from "../lib/server.ts";

export interface ScenarioResult {
  /** Headline figures by key; null when not measured. */
  figures: Record<string, number | null>;
  /** Everything else worth keeping: options, counts, distributions. */
  details: Record<string, unknown>;
  /** Failures by description (timeouts, refusals, lost messages). */
  errors: Record<string, number>;
  /** CPU in cores (1.0 = one core) while the scenario measured, by process. */
  cpu: Record<string, number | null>;
}

/** A meter over the system's processes (the dev proxy only when the clients go through it, the TCP
 * gateway only when they go through it). */
export function cpuMeter(server: RunningServer): CpuMeter {
  return new CpuMeter({
    "workerd runtime": server.pids.runtime,
    ...(server.via === "proxy" ? { "workerd dev proxy": server.pids.proxy } : {}),
    "wrangler (node)": server.pids.wrangler,
    ...(server.pids.gateway ? { "tcp gateway (node)": server.pids.gateway } : {}),
  });
}
