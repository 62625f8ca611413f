// Fan-out to members' UserObjects. One pump per member sends what is past that member's watermark
// in seq order, one RPC at a time, so messages that pile up while a call is in flight travel
// together in the next call. The watermark is stored, so a failed or interrupted fan-out resumes
// from the alarm, and the UserObject ignores seqs it already has: repeating a delivery is safe.
// A departed member gets messages only up to where they left.
import type { UserObject } from "../user/user-object";
import type { MemberStore } from "./member-store";
import type { Identity } from "../message";
import type { MessageStore } from "./message-store";

/** Most messages one delivery RPC carries. */
export const FANOUT_BATCH = 200;

export class Fanout {
  private readonly running = new Set<string>();
  /** Stubs by member: getByName hashes the name each time, and a group sends to the same members. */
  private readonly stubs = new Map<string, DurableObjectStub<UserObject>>();
  /** Members kicked while their pump was running: the pump must look again before it stops. */
  private readonly dirty = new Set<string>();

  constructor(
    private readonly messages: MessageStore,
    private readonly members: MemberStore,
    private readonly users: DurableObjectNamespace<UserObject>,
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

  /**
   * Lets a sender's own object take its new messages from the answer to its send instead of a
   * delivery call. Only when nothing is on its way to it and it has everything up to just before
   * them, so the seqs it holds stay contiguous; its watermark moves as if they were delivered.
   */
  handBack(userId: string, fromSeq: number, toSeq: number): boolean {
    if (this.running.has(userId)) return false;
    const member = this.members.get(userId);
    if (!member || member.leftSeq !== null || member.fanoutSeq !== fromSeq - 1) return false;
    this.members.setFanoutSeq(userId, toSeq);
    return true;
  }

  private stub(userId: string): DurableObjectStub<UserObject> {
    let stub = this.stubs.get(userId);
    if (!stub) {
      stub = this.users.getByName(userId);
      this.stubs.set(userId, stub);
    }
    return stub;
  }

  private async pump(userId: string, id: Identity): Promise<void> {
    try {
      while (this.dirty.delete(userId)) {
        for (;;) {
          const member = this.members.get(userId);
          if (!member) break;
          const cap = Math.min(this.messages.maxSeq(), member.leftSeq ?? Infinity);
          if (member.fanoutSeq >= cap) break;
          const messages = this.messages.deliverable(member.fanoutSeq + 1, cap, FANOUT_BATCH, id);
          const last = messages[messages.length - 1];
          if (!last) break;
          await this.stub(userId).deliver({
            recipientId: userId,
            conversationId: id.conversationId,
            conversationType: id.conversationType,
            visibleFrom: member.firstSeq,
            messages,
          });
          this.members.setFanoutSeq(userId, last.seq);
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
