// The room's pushes to its relays: one pump per relay, one deliver() in flight at a time; what is
// stored meanwhile travels in the next call (at most BATCH messages, and one frame's bytes, each).
// Where each relay is, is kept in memory only (no write per message): a room that restarts pushes
// its busy relays the newest BATCH again (what was stored just before may not have reached them),
// and a listener who missed something older sees the gap in seqs and asks (CHATROOM_HISTORY_REQ).
// A failed call leaves its relay behind; the room's alarm runs its pump again.
import { oldestWithinBytes } from "./page-bytes";
import type { RoomMessages } from "./room-messages";
import type { RoomMessage } from "./types";

/** Most messages one deliver() carries. */
export const BATCH = 200;

export interface RelayPumpsDeps {
  messages: RoomMessages;
  /** Delivers a batch to a relay; answers the listeners it holds. */
  deliver: (relay: number, batch: RoomMessage[]) => Promise<number>;
  /** What a relay answers to a delivery: the listeners it holds now. */
  onCount: (relay: number, listeners: number) => void;
  onFailure: (relay: number, error: unknown) => void;
}

export class RelayPumps {
  /** The last seq handed to each relay this instance knows. */
  private readonly delivered = new Map<number, number>();
  private readonly running = new Set<number>();
  private readonly failed = new Set<number>();
  /** Where a relay this instance has not delivered to yet stands: the newest seq when it started. */
  private readonly baseline: number;

  /**
   * `busy`: the relays that held listeners when this instance started. They restart BATCH behind
   * the newest seq (then kick()ed): what was stored just before a restart may not have reached them,
   * and a relay pushes a socket only what it has not had, so the repeat costs little.
   */
  constructor(
    private readonly deps: RelayPumpsDeps,
    busy: readonly number[] = [],
  ) {
    this.baseline = deps.messages.maxSeq();
    for (const relay of busy) this.delivered.set(relay, Math.max(0, this.baseline - BATCH));
  }

  /**
   * A relay that gets its first listener (again) starts at the newest seq: its listeners joined
   * after that, and their join brought them the recent messages. Not a relay with a delivery in
   * flight or failed: listeners it may still hold have not had those messages.
   */
  start(relay: number): void {
    if (this.running.has(relay) || this.failed.has(relay)) return;
    this.delivered.set(relay, this.deps.messages.maxSeq());
  }

  /** Relays whose last delivery failed, for the alarm. */
  lagging(): number[] {
    return [...this.failed];
  }

  kick(relays: Iterable<number>): void {
    for (const relay of relays) {
      if (this.running.has(relay)) continue;
      this.running.add(relay);
      void this.pump(relay);
    }
  }

  private async pump(relay: number): Promise<void> {
    try {
      for (;;) {
        const from = this.delivered.get(relay) ?? this.baseline;
        const max = this.deps.messages.maxSeq();
        if (from >= max) break;
        const batch: RoomMessage[] = oldestWithinBytes(this.deps.messages.range(from, max, BATCH));
        const last = batch[batch.length - 1];
        if (!last) break;
        const listeners = await this.deps.deliver(relay, batch);
        this.delivered.set(relay, last.seq);
        this.failed.delete(relay);
        this.deps.onCount(relay, listeners);
      }
    } catch (error) {
      this.failed.add(relay);
      this.deps.onFailure(relay, error);
    } finally {
      this.running.delete(relay);
    }
  }
}
