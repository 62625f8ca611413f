// A relay tells its room how many listeners it holds, on every join and leave: the absolute count,
// one call in flight at a time, so a burst of joins costs a few calls and a lost one is corrected
// by the next (and by the count the relay answers to each delivery).
import { logEvent } from "../../observability/log";
import type { RoomStub } from "./types";

export class ListenerReport {
  private dirty = false;
  private running = false;

  constructor(
    private readonly room: () => RoomStub,
    private readonly relay: () => number,
    private readonly count: () => number,
  ) {}

  changed(): void {
    this.dirty = true;
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty) {
        this.dirty = false;
        await this.room().report(this.relay(), this.count());
      }
    } catch (error) {
      // The next join, leave or delivery corrects it.
      logEvent("warn", "chatroom_report_failed", { reason: `relay ${this.relay()}` }, error);
    } finally {
      this.running = false;
    }
  }
}
