// Presence: a user is online while any of their devices is authenticated. Each change goes to the
// user's friends who are online as STATUS_CHANGE_PUSH (PROTOCOL.md, decision 7). Going offline
// waits PRESENCE_GRACE_MS, so a device that drops and reconnects at once (a flap) pushes nothing,
// while a real change still shows within a second (decision 13).
import { database } from "../../db/client";
import { friendIds } from "../../db/social";
import type { Presence } from "../rpc";
import type { Inbox } from "./inbox";

export const PRESENCE_GRACE_MS = 500;

const ANNOUNCED = "presence_announced"; // 1 when friends were last told "online"
const OFFLINE_AT = "presence_offline_at"; // when to tell them "offline", 0 when nothing is pending

export class PresenceTracker {
  constructor(
    private readonly inbox: Inbox,
    private readonly env: Env,
  ) {}

  /** A device authenticated: friends hear "online" unless they already think so. */
  async deviceOnline(status: Presence): Promise<void> {
    this.inbox.setNumber(OFFLINE_AT, 0);
    if (this.inbox.number(ANNOUNCED) === 1) return;
    this.inbox.setNumber(ANNOUNCED, 1);
    await this.announce(status);
  }

  /** The last device left: returns when the offline announcement is due. */
  lastDeviceGone(now: number): number {
    this.inbox.setLastSeen(now);
    const due = now + PRESENCE_GRACE_MS;
    this.inbox.setNumber(OFFLINE_AT, due);
    return due;
  }

  /** The pending offline announcement's time, or 0. */
  pendingAt(): number {
    return this.inbox.number(OFFLINE_AT);
  }

  /** From the alarm: announces "offline" if it is due and no device came back. */
  async settle(now: number, status: Presence): Promise<void> {
    const due = this.pendingAt();
    if (due === 0 || due > now) return;
    this.inbox.setNumber(OFFLINE_AT, 0);
    if (status.online || this.inbox.number(ANNOUNCED) !== 1) return;
    this.inbox.setNumber(ANNOUNCED, 0);
    await this.announce(status);
  }

  private async announce(status: Presence): Promise<void> {
    if (!status.userId) return;
    const friends = await friendIds(database(this.env), status.userId);
    await Promise.all(
      friends.map((friend) =>
        this.env.USER_OBJECT.getByName(friend)
          .pushStatus(status)
          .catch((error: unknown) => console.warn(`status push to ${friend} failed`, error)),
      ),
    );
  }
}
