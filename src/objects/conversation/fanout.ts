// Fan-out to members' UserObjects. One pump per member sends what is past that member's watermark
// in seq order, one RPC at a time, so messages that pile up while a call is in flight travel
// together in the next call. The watermark is stored, so a failed or interrupted fan-out resumes
// from the alarm, and the UserObject ignores seqs it already has: repeating a delivery is safe.
// A departed member gets messages only up to where they left.
import type { UserObject } from "../user/user-object";
import type { MemberStore } from "./member-store";
import type { Identity } from "../message";
import type { MessageStore } from "./message-store";
import { MEMBER_IDS_KEPT, namedObjects, type ObjectIds } from "../object-ids";

/** Most messages one delivery RPC carries. */
export const FANOUT_BATCH = 200;

export class Fanout {
  private readonly running = new Set<string>();
  /** Member objects' ids: a group sends to the same members again and again. */
  private readonly stubs: ObjectIds<string, DurableObjectStub<UserObject>>;
  /**
   * Active members whose pump is not running: what a send has to start. A running pump reads the
   * new messages itself once its call returns, so a send costs nothing for it; in a busy group
   * most pumps run, and a send would otherwise look at every member. Built from the member list,
   * again whenever it changed, and kept as pumps start and stop.
   */
  private idle = new Set<string>();
  /** The member list `idle` was built from (MemberStore.activeIds(), the same array until it changes). */
  private idleOf: readonly string[] | null = null;

  constructor(
    private readonly messages: MessageStore,
    private readonly members: MemberStore,
    users: DurableObjectNamespace<UserObject>,
    private readonly onFailure: (userId: string, error: unknown) => void,
    /** The member's object holds (or, handed back, is about to hold) messages up to its watermark: changes of them may follow. */
    private readonly onDelivered: (userId: string) => void = () => {},
  ) {
    this.stubs = namedObjects(
      () => users,
      (userId: string) => userId,
      MEMBER_IDS_KEPT,
    );
  }

  /** Starts these members' pumps where they are not running. */
  kick(userIds: Iterable<string>, id: Identity): void {
    for (const userId of userIds) this.start(userId, id);
  }

  /** New messages for every active member (but `except`, the sender when handed back). */
  kickActive(id: Identity, except: string | null): void {
    // A copy: a pump that has nothing to do ends at once and goes back into the set.
    for (const userId of [...this.idleMembers()]) if (userId !== except) this.start(userId, id);
  }

  private idleMembers(): Set<string> {
    const active = this.members.activeIds();
    if (this.idleOf !== active) {
      this.idle = new Set(active.filter((userId) => !this.running.has(userId)));
      this.idleOf = active;
    }
    return this.idle;
  }

  private start(userId: string, id: Identity): void {
    if (this.running.has(userId)) return;
    this.running.add(userId);
    this.idle.delete(userId);
    void this.pump(userId, id);
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
    this.onDelivered(userId);
    return true;
  }

  /**
   * Delivers what the member lacks, one call at a time, until it has everything: after each call it
   * looks again, so messages stored meanwhile go in the next call, with no kick needed.
   */
  private async pump(userId: string, id: Identity): Promise<void> {
    try {
      for (;;) {
        const member = this.members.get(userId);
        if (!member) break;
        const cap = Math.min(this.messages.maxSeq(), member.leftSeq ?? Infinity);
        if (member.fanoutSeq >= cap) break;
        const messages = this.messages.deliverable(member.fanoutSeq + 1, cap, FANOUT_BATCH, id);
        const last = messages[messages.length - 1];
        if (!last) break;
        await this.stubs.call(userId, (stub) =>
          stub.deliver({
            recipientId: userId,
            conversationId: id.conversationId,
            conversationType: id.conversationType,
            visibleFrom: member.firstSeq,
            messages,
          }),
        );
        this.members.setFanoutSeq(userId, last.seq);
        this.onDelivered(userId);
      }
    } catch (error) {
      this.onFailure(userId, error);
    } finally {
      this.running.delete(userId);
      // Still active and the list unchanged: a later send starts it again.
      if (this.idleOf === this.members.activeIds() && this.members.get(userId)?.leftSeq === null)
        this.idle.add(userId);
    }
  }
}
