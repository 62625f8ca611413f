// Reconnect delays: exponential backoff with full jitter (a uniform delay in [0, min(max, base·2^n))).

export interface BackoffOptions {
  /** The cap of the first delay, in ms. */
  baseMs: number;
  /** The largest cap any delay may have, in ms. */
  maxMs: number;
}

/**
 * Full jitter spreads reconnecting clients evenly instead of in waves: after a server restart,
 * thousands of clients do not come back in the same millisecond.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const exponential = options.baseMs * 2 ** Math.min(attempt, 30);
  return Math.floor(random() * Math.min(options.maxMs, exponential));
}

/** Counts consecutive failed attempts; `reset()` after a success starts the curve again. */
export class Backoff {
  private attempts = 0;
  private readonly options: BackoffOptions;
  private readonly random: () => number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    if (!(options.baseMs > 0) || !(options.maxMs >= options.baseMs)) {
      throw new RangeError("backoff needs 0 < baseMs <= maxMs");
    }
    this.options = options;
    this.random = random;
  }

  /** How many delays were handed out since the last reset. */
  get count(): number {
    return this.attempts;
  }

  /** The next delay; each call moves one step along the curve. */
  next(): number {
    return fullJitterDelay(this.attempts++, this.options, this.random);
  }

  reset(): void {
    this.attempts = 0;
  }
}
