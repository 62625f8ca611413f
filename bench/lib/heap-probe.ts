// The isolate's heap read every few tens of milliseconds through the inspector while a scenario
// runs (`npm run bench -- --heap`): how high it climbs, how often it falls by much at once (an
// old-generation collection; the young generation's fall by 5–10 MB here), and how long each
// reading waited for its answer, which is how long the one thread was held (by a collection or by
// anything else). It found the stubs kept across requests (src/objects/object-ids.ts,
// docs/PERFORMANCE.md "Garbage"). The probe adds load of its own: compare runs that both have it.
import { connectInspector } from "./inspector.ts";
import type { RunningServer } from "./server.ts";
import { sleep } from "./stats.ts";

/** A fall of the used heap between two readings at least this large counts as an old-generation collection. */
const LARGE_FALL_MB = 20;
/** A reading that waited at least this long counts as the thread held. */
const HELD_MS = 50;

export interface HeapSummary {
  readings: number;
  usedPeakMb: number;
  usedFloorMb: number;
  /** Falls of LARGE_FALL_MB or more at once. */
  largeFalls: number;
  /** How long the readings waited for their answers (ms). */
  waitMaxMs: number;
  heldReadings: number;
}

export interface HeapProbe {
  stop(): Promise<HeapSummary>;
}

export async function startHeapProbe(server: RunningServer, everyMs = 50): Promise<HeapProbe | null> {
  let inspector;
  try {
    inspector = await connectInspector(server);
  } catch (error) {
    console.warn(`  heap probe not started: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
  const used: number[] = [];
  const waits: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const asked = performance.now();
      const usage = await inspector.call("Runtime.getHeapUsage");
      waits.push(performance.now() - asked);
      used.push(Number(usage.usedSize) / 2 ** 20);
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      inspector.close();
      let largeFalls = 0;
      for (let i = 1; i < used.length; i++) if (used[i - 1]! - used[i]! >= LARGE_FALL_MB) largeFalls++;
      const round = (n: number) => Math.round(n * 10) / 10;
      return {
        readings: used.length,
        usedPeakMb: round(Math.max(0, ...used)),
        usedFloorMb: round(used.length ? Math.min(...used) : 0),
        largeFalls,
        waitMaxMs: round(Math.max(0, ...waits)),
        heldReadings: waits.filter((w) => w >= HELD_MS).length,
      };
    },
  };
}
