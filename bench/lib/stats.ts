// Latency samples and their summary (nearest-rank percentiles), rounded for the report.

export interface Summary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function round(n: number | null, digits = 1): number | null {
  if (n === null || !Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Collects samples (milliseconds) into a growable typed array. */
export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  add(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = value;
  }

  get count(): number {
    return this.n;
  }

  summary(): Summary {
    const sorted = this.data.slice(0, this.n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.n,
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(this.n > 0 ? (sorted[this.n - 1] as number) : null),
      mean: round(this.n > 0 ? sum / this.n : null),
    };
  }
}

/** Counts occurrences of short error descriptions, for "what failed and how often". */
export class ErrorTally {
  private readonly counts = new Map<string, number>();

  add(error: unknown): void {
    const text = (error instanceof Error ? error.message : String(error)).slice(0, 160);
    this.counts.set(text, (this.counts.get(text) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]).slice(0, 10));
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across this process. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
