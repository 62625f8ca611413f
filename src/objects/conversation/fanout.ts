// Fan-out to members' UserObjects. One pump per member sends what is past that member's watermark
// in seq order, one RPC at a time, so messages that pile up while a call is in flight travel
// together in the next call. The watermark is stored, so a failed or interrupted fan-out resumes
// from the alarm, and the UserObject ignores seqs it already has: repeating a delivery is safe.
import type { Identity, MessageStore } from "./message-store";

/** Most messages one delivery RPC carries. */
export const FANOUT_BATCH = 200;

export class Fanout {
  private readonly running = new Set<string>();
  /** Members kicked while their pump was running: the pump must look again before it stops. */
  private readonly dirty = new Set<string>();

  constructor(
    private readonly store: MessageStore,
    private readonly users: DurableObjectNamespace<import("../user/user-object").UserObject>,
    private readonly onFailure: (userId: string, error: unknown) => void,
  ) {}

  kick(userIds: Iterable<string>, id: Identity): void {
    for (const userId of userIds) {
      this.dirty.add(userId);
      if (this.running.has(userId)) continue;
      this.running.add(userId);
      void this.pump(userId, id);
    }
  }

  private async pump(userId: string, id: Identity): Promise<void> {
    try {
      while (this.dirty.delete(userId)) {
        for (;;) {
          const from = this.store.fanoutSeq(userId);
          const max = this.store.maxSeq();
          if (from >= max) break;
          const messages = this.store.range(from + 1, max, FANOUT_BATCH, id);
          const last = messages[messages.length - 1];
          if (!last) break;
          await this.users.getByName(userId).deliver({
            recipientId: userId,
            conversationId: id.conversationId,
            conversationType: id.conversationType,
            messages,
          });
          this.store.setFanoutSeq(userId, last.seq);
        }
      }
    } catch (error) {
      this.dirty.delete(userId);
      this.onFailure(userId, error);
    } finally {
      this.running.delete(userId);
    }
  }
}
