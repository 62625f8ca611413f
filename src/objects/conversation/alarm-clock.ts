// The object's one alarm. It is what survives a crash, so everything that must resume (the history
// flush, group writes, fan-out that fell behind) arms it, and the alarm never moves later than the
// soonest of them. Failures retry with one backoff.
/** Retry backoff for failing D1 writes and fan-out: 1 s doubling to 1 min. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** The retry delay after `failures` failures in a row: 1 s doubling to 1 min. */
export function backoff(failures: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failures - 1), RETRY_MAX_MS);
}

export class AlarmClock {
  /** The alarm time last set, null when none is, undefined when unknown (after a restart). */
  private at: number | null | undefined = undefined;
  /** The stored alarm being read after a restart: calls in the same turn share the one read. */
  private loading: Promise<number | null> | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** The alarm is running: none is set any more. */
  fired(): void {
    this.at = null;
  }

  /**
   * Sets the alarm to `at` unless one is already due sooner. What only needs some run of the alarm
   * by then (the history copy's guard) sets it this way: a conversation that keeps sending writes it
   * once, not at every message, and a retry's later alarm is brought forward.
   */
  async arm(at: number): Promise<void> {
    await this.load();
    // From here to the set nothing awaits, so two arms cannot both decide on a stale time.
    if (this.at !== null && this.at !== undefined && this.at <= at) return;
    this.at = at;
    await this.storage.setAlarm(at);
  }

  /**
   * Learns the stored alarm after a restart. Each caller must not take its own read as the time:
   * a second read that began before the first caller's set would answer the time before it, and
   * the sooner alarm would be lost under a later one.
   */
  private async load(): Promise<void> {
    if (this.at !== undefined) return;
    const stored = await (this.loading ??= this.storage.getAlarm());
    if (this.at === undefined) this.at = stored;
  }

  /** Takes the alarm back: nothing is pending (the caller has checked every reason to keep it). */
  async disarm(): Promise<void> {
    if (this.at === null) return;
    this.at = null;
    await this.storage.deleteAlarm();
  }

  /** Sets the alarm to exactly `at`, even over a sooner one. */
  async setExactly(at: number): Promise<void> {
    this.at = at;
    await this.storage.setAlarm(at);
  }
}
