// Runs a group's membership and settings commands (group-commands.ts) one at a time, in a chain of
// their own rather than in blockConcurrencyWhile: sends and fan-out go on while a command waits for
// D1, and a D1 error is an answer, never a reset of the object. Each change is applied with its
// notice and its queued D1 write in one transaction, then written to D1 (group-outbox.ts); what D1
// does not take, the alarm retries with backoff.
import { backoff } from "./alarm-clock";
import { RESUME_DELAY_MS } from "./history-flush";
import type { ConversationContext } from "./context";
import { planGroupCommand, type GroupCommand, type GroupResult } from "./group-commands";
import { MAX_PENDING_GROUP_WRITES } from "./group-outbox";
import type { Identity } from "../message";
import { appendNotice } from "./notices";
import { logEvent } from "../../observability/log";
import { groupChangedEvent } from "../../webhooks/events";

export class GroupRunner {
  private chain: Promise<unknown> = Promise.resolve();
  /** D1 writes that failed in a row. */
  private writeFailures = 0;

  constructor(private readonly c: ConversationContext) {}

  /** Runs `command` after the ones before it. */
  run(id: Identity, command: GroupCommand): Promise<GroupResult> {
    const run = this.chain.then(() => this.runOne(id, command));
    this.chain = run.catch(() => {});
    return run;
  }

  private async runOne(id: Identity, command: GroupCommand): Promise<GroupResult> {
    const c = this.c;
    if (c.groupOutbox.pending() >= MAX_PENDING_GROUP_WRITES) {
      await this.flushWrites();
      if (c.groupOutbox.pending() >= MAX_PENDING_GROUP_WRITES)
        return { ok: false, status: 503, message: "group changes are paused until D1 catches up; try again" };
    }
    let plan: Awaited<ReturnType<typeof planGroupCommand>>;
    try {
      plan = await planGroupCommand(command, {
        members: c.members,
        access: c.access,
        db: c.db(),
        maxMembers: c.settings().groupMaxMembers,
        now: c.now(),
      });
    } catch (error) {
      // Only D1 reads (do the users exist?) can fail here, before anything changed.
      logEvent(
        "error",
        "group_command_d1_check_failed",
        { conversationId: id.conversationId, action: command.op },
        error,
      );
      return {
        ok: false,
        status: 503,
        message: "the group could not be changed now; nothing changed, try again",
      };
    }
    if (plan !== null && "ok" in plan) return plan;
    if (plan !== null) {
      const memberCount = c.members.activeCount() + plan.memberCountDelta;
      const write = plan.write && { ...plan.write, groupId: id.groupId, memberCount, at: Date.now() };
      const { notice } = plan;
      // The notice, the change and its D1 write to come: all or nothing.
      c.storage.transactionSync(() => {
        plan.apply(notice ? appendNotice(c, id, command.actor, notice).seq : c.messages.maxSeq());
        if (write) {
          c.groupOutbox.add(write);
          c.webhookEvents.addGroupChange(groupChangedEvent(command.op, command.actor, write));
        }
      });
      if (notice) {
        c.fanout.kick(c.members.lagging(c.messages.maxSeq()), id);
        await c.history.afterSend(id);
      } else if (c.webhookEvents.pending()) {
        await c.alarms.arm(Date.now() + RESUME_DELAY_MS); // a restart before the event is queued resumes it
      }
      if (plan.answer) return plan.answer;
    }
    const synced = c.groupOutbox.pending() === 0 || (await this.flushWrites());
    if (synced) void c.webhookEvents.run(id); // once D1 has the change (a failed write: the alarm)
    return { ok: true, changed: plan !== null, synced };
  }

  /** Writes the group's pending changes to D1; on failure the alarm retries them, backing off. */
  async flushWrites(): Promise<boolean> {
    try {
      await this.c.groupOutbox.flush(this.c.db());
      this.writeFailures = 0;
      return true;
    } catch (error) {
      this.writeFailures++;
      const delay = backoff(this.writeFailures);
      logEvent(
        "error",
        "group_write_failed",
        { conversationId: this.c.label(), attempt: this.writeFailures, delayMs: delay },
        error,
      );
      await this.c.alarms.arm(Date.now() + delay);
      return false;
    }
  }
}
