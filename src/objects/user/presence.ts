// Presence: a user is online while any of their devices is authenticated. Each change goes to the
// user's friends who are online as STATUS_CHANGE_PUSH (PROTOCOL.md, decision 7). Going offline
// waits PRESENCE_GRACE_MS, so a device that drops and reconnects at once (a flap) pushes nothing,
// while a real change still shows within a second (decision 13).
import { database } from "../../db/client";
import { friendIds } from "../../db/social";
import type { Presence } from "../rpc";
import type { PresenceStore } from "./presence-store";
import { logEvent } from "../../observability/log";

export const PRESENCE_GRACE_MS = 500;
/** Tries to tell friends a user came online, the first retry after ANNOUNCE_RETRY_MS, doubling. */
export const ANNOUNCE_ATTEMPTS = 4;
export const ANNOUNCE_RETRY_MS = 1_000;

export class PresenceTracker {
  constructor(
    private readonly store: PresenceStore,
    private readonly env: Env,
  ) {}

  /**
   * A device authenticated: friends hear "online" unless they already think so. Runs beside the
   * socket's frames, never in their way; a failure to read the friends (D1) is retried with backoff,
   * and "announced" is only recorded once they were read, so a later device tries again.
   */
  deviceOnline(status: Presence): void {
    this.store.setOfflineAt(0);
    if (this.store.announced() || this.announcing) return;
    this.announcing = this.announceOnline(status).finally(() => (this.announcing = null));
  }

  private announcing: Promise<void> | null = null;

  private async announceOnline(status: Presence): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.announce(status, () => this.store.setAnnounced(true));
        return;
      } catch (error) {
        if (attempt + 1 >= ANNOUNCE_ATTEMPTS) {
          logEvent(
            "error",
            "presence_announce_failed",
            { userId: status.userId, attempt: ANNOUNCE_ATTEMPTS },
            error,
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, ANNOUNCE_RETRY_MS * 2 ** attempt));
      }
    }
  }

  /** The last device left: returns when the offline announcement is due. */
  lastDeviceGone(now: number): number {
    this.store.setLastSeen(now);
    const due = now + PRESENCE_GRACE_MS;
    this.store.setOfflineAt(due);
    return due;
  }

  /** The pending offline announcement's time, or 0. */
  pendingAt(): number {
    return this.store.offlineAt();
  }

  /** From the alarm: announces "offline" if it is due and no device came back. */
  async settle(now: number, status: Presence): Promise<void> {
    const due = this.pendingAt();
    if (due === 0 || due > now) return;
    this.store.setOfflineAt(0);
    if (status.online || !this.store.announced()) return;
    this.store.setAnnounced(false);
    await this.announce(status);
  }

  /** Pushes `status` to every friend; `read` runs once the friends are known. */
  private async announce(status: Presence, read: () => void = () => {}): Promise<void> {
    if (!status.userId) return;
    const friends = await friendIds(database(this.env), status.userId);
    read();
    await Promise.all(
      friends.map((friend) =>
        this.env.USER_OBJECT.getByName(friend)
          .pushStatus(status)
          .catch((error: unknown) => logEvent("warn", "status_push_failed", { userId: friend }, error)),
      ),
    );
  }
}
