// Fan-out that failed or fell behind (a crash loses the pumps, not the stored watermarks) is resumed
// by the alarm, with backoff while deliveries keep failing. The alarm stays armed until every member
// has everything: nothing else would restart a pump if no send came to this conversation again.
import { backoff, type AlarmClock } from "./alarm-clock";
import type { Fanout } from "./fanout";
import type { Identity } from "../message";
import type { MemberStore } from "./member-store";
import { logEvent } from "../../observability/log";

export class FanoutRetry {
  /** Deliveries that failed since every member last had everything. */
  private failures = 0;

  constructor(
    private readonly alarms: AlarmClock,
    private readonly label: () => string,
  ) {}

  /** A delivery to a member failed: the alarm retries it after the backoff. */
  failed(userId: string, error: unknown): void {
    this.failures++;
    const delay = backoff(this.failures);
    logEvent(
      "error",
      "fanout_failed",
      { conversationId: this.label(), userId, attempt: this.failures, delayMs: delay },
      error,
    );
    void this.alarms.arm(Date.now() + delay);
  }

  /**
   * From the alarm: restarts the pumps of members who lack messages (departed ones up to where
   * they left), and keeps the alarm armed for them, never sooner than `notBefore`.
   */
  async resume(
    fanout: Fanout,
    members: MemberStore,
    maxSeq: number,
    id: Identity,
    notBefore: number,
  ): Promise<void> {
    members.saveFanout();
    const lagging = members.lagging(maxSeq);
    if (lagging.length > 0) {
      fanout.kick(lagging, id);
      await this.alarms.arm(Math.max(Date.now() + backoff(this.failures + 1), notBefore));
    } else this.failures = 0;
  }
}
