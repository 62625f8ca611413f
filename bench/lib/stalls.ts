// Slow messages grouped in time: whether a latency tail is the whole thread stopping (each burst
// touches many conversations at once) or one conversation's queue (each burst touches one), and
// how often it recurs (a period near 0.5 s or 1 s points at the server's timers).

export interface SlowMessage {
  /** When it was due to be sent (ms). */
  at: number;
  latencyMs: number;
  /** Which pair (conversation) it travelled in. */
  pair: number;
}

export interface StallSummary {
  /** Messages over the threshold, and the threshold (ms). */
  slow: number;
  thresholdMs: number;
  /** Runs of slow messages with less than `gapMs` between consecutive due times. */
  bursts: number;
  /** Median and largest number of pairs one burst touched. */
  pairsPerBurstP50: number | null;
  pairsPerBurstMax: number | null;
  /** Median time between the starts of consecutive bursts (ms). */
  periodP50Ms: number | null;
  /** Median and longest burst, first due time to last (ms). */
  burstSpanP50Ms: number | null;
  burstSpanMaxMs: number | null;
}

const median = (values: number[]) =>
  values.length === 0 ? null : Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);

export function stallSummary(slow: SlowMessage[], thresholdMs: number, gapMs = 100): StallSummary {
  const sorted = [...slow].sort((a, b) => a.at - b.at);
  const bursts: SlowMessage[][] = [];
  for (const m of sorted) {
    const last = bursts[bursts.length - 1];
    const previous = last?.[last.length - 1];
    if (last && previous && m.at - previous.at < gapMs) last.push(m);
    else bursts.push([m]);
  }
  const pairs = bursts.map((b) => new Set(b.map((m) => m.pair)).size);
  const spans = bursts.map((b) => b[b.length - 1]!.at - b[0]!.at);
  const starts = bursts.map((b) => b[0]!.at);
  return {
    slow: sorted.length,
    thresholdMs,
    bursts: bursts.length,
    pairsPerBurstP50: median(pairs),
    pairsPerBurstMax: pairs.length ? Math.max(...pairs) : null,
    periodP50Ms: median(starts.slice(1).map((t, i) => t - starts[i]!)),
    burstSpanP50Ms: median(spans),
    burstSpanMaxMs: spans.length ? Math.round(Math.max(...spans)) : null,
  };
}
