// Scenario 6, group fan-out: one message to a group of `members` online members, timed until the
// last member has it (issue 6's target: ≤ 500 ms for 500 members); then a closed loop of group
// sends from one member for the sustained rate (group msgs/s and deliveries/s).
//
// The group is created through the HTTP API like an app would; every member is connected and
// authenticated. A round sends one stamped message and waits for every other member's push.
import { groupConversationId } from "../../src/protocol/conversation-id.ts";
import { ImConnection } from "../clients/im-connection.ts";
import { createImGroup, type ImSystem } from "../clients/systems.ts";
import { ErrorTally, Samples, nowMs, round, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { sentAtOf, stampedContent } from "./one-to-one.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface GroupFanoutOptions {
  members: number;
  rounds: number;
  /** Closed-loop sends in flight from the one sender during the sustained part. */
  window: number;
  durationMs: number;
  roundTimeoutMs: number;
}

export async function groupFanout(system: ImSystem, o: GroupFanoutOptions): Promise<ScenarioResult> {
  const errors = new ErrorTally();
  const userIds = await system.reuseUsers(o.members, "g");
  const [ownerId, ...memberIds] = userIds as [string, ...string[]];
  const groupId = await createImGroup(system.server, system.account(ownerId), memberIds);
  const conversationId = groupConversationId(groupId);
  const connections = await mapLimited(userIds, 20, (id) =>
    ImConnection.open(system.server.origin, system.account(id)),
  );
  const sender = connections[0] as ImConnection;
  const receivers = connections.slice(1);

  // Each receiver reports the stamps it gets; a round waits for the stamp at every receiver.
  const lastLatency = new Samples();
  const memberLatency = new Samples();
  let deliveries = 0;
  const waiting = new Map<number, { left: number; done: () => void }>();
  for (const r of receivers) {
    r.onPush = (m) => {
      if (m.conversationId !== conversationId) return;
      const sentAt = sentAtOf(new TextDecoder().decode(m.content ?? new Uint8Array()));
      if (!Number.isFinite(sentAt)) return;
      deliveries++;
      memberLatency.add(nowMs() - sentAt);
      const round = waiting.get(sentAt);
      if (round && --round.left === 0) round.done();
    };
  }
  const meter = cpuMeter(system.server);
  try {
    await sleep(1_000); // let the creation notice reach everyone first
    for (let i = 0; i < o.rounds; i++) {
      // The stamp is what the receivers parse back from the content: the key must be the same number.
      const sentAt = sentAtOf(stampedContent(nowMs(), 64));
      const arrived = new Promise<void>((resolve, reject) => {
        waiting.set(sentAt, { left: receivers.length, done: resolve });
        setTimeout(
          () =>
            reject(new Error(`round ${i}: not every member had the message within ${o.roundTimeoutMs} ms`)),
          o.roundTimeoutMs,
        );
      });
      try {
        await sender.sendTo(conversationId, "", stampedContent(sentAt, 64));
        await arrived;
        lastLatency.add(nowMs() - sentAt);
      } catch (error) {
        errors.add(error);
      } finally {
        waiting.delete(sentAt);
      }
    }
    // Sustained: a closed loop of `window` sends in flight from the one sender.
    const deliveredBefore = deliveries;
    let sent = 0;
    const loopStart = nowMs();
    await Promise.all(
      Array.from({ length: o.window }, async () => {
        while (nowMs() - loopStart < o.durationMs) {
          try {
            await sender.sendTo(conversationId, "", stampedContent(nowMs(), 64));
            sent++;
          } catch (error) {
            errors.add(error);
          }
        }
      }),
    );
    const seconds = (nowMs() - loopStart) / 1000;
    await sleep(2_000); // let fan-out drain before counting
    const cpu = meter.stop();
    const last = lastLatency.summary();
    return {
      figures: {
        lastMemberP50: last.p50,
        lastMemberMax: last.max,
        groupMsgsPerSec: round(sent / seconds),
        deliveriesPerSec: round((deliveries - deliveredBefore) / seconds),
        failures: errors.total,
      },
      details: {
        options: o,
        members: userIds.length,
        lastMember: last,
        anyMember: memberLatency.summary(),
        sent,
      },
      errors: errors.toJSON(),
      cpu,
    };
  } finally {
    for (const c of connections) c.close();
  }
}
