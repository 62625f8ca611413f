// Scenario 6, group fan-out: one message to a group of N online members, timed until the last
// member has it (issue 6's target: ≤ 500 ms for 500 members; issue 14's: ≤ 1 s for 2,000, today's
// GROUP_MAX_MEMBERS); then a closed loop of group sends from one member for the sustained rate
// (group msgs/s and deliveries/s). Each size in `members` runs in turn, on its own group.
//
// The group is created through the HTTP API like an app would (invites in turns of 500 past the
// first 500); every member is connected and authenticated. A round sends one stamped message and
// waits for every other member's push.
import { groupConversationId } from "../../src/protocol/conversation-id.ts";
import { ImConnection } from "../clients/im-connection.ts";
import { createImGroup, type ImSystem } from "../clients/systems.ts";
import { ErrorTally, Samples, nowMs, round, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { sentAtOf, stampedContent } from "./one-to-one.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface GroupFanoutOptions {
  /** Group sizes (the sender included), one group each, measured in this order. */
  members: number[];
  rounds: number;
  /** Closed-loop sends in flight from the one sender during the sustained part. */
  window: number;
  durationMs: number;
  roundTimeoutMs: number;
}

/** The last member's latency target per group size (issue 6: 500 members; issue 14: 2,000). */
export const GROUP_FANOUT_TARGET_MS: Record<number, number> = { 500: 500, 2000: 1000 };

/** The figures' keys for one size: `lastMemberP50At2000` and so on. */
export const atSize = (key: string, members: number) => `${key}At${members}`;

/** A CPU profile's window (run.ts), started before a size's rounds; the returned function ends it. */
export type ProfileWindow = (label: string) => Promise<() => Promise<void>>;

export async function groupFanout(
  system: ImSystem,
  o: GroupFanoutOptions,
  profile?: ProfileWindow,
): Promise<ScenarioResult> {
  const errors = new ErrorTally();
  const figures: ScenarioResult["figures"] = {};
  const details: Record<string, unknown> = { options: o, sizes: o.members };
  const meter = cpuMeter(system.server);
  for (const size of o.members) {
    const one = await oneSize(system, size, o, errors, profile);
    for (const [key, value] of Object.entries(one.figures)) figures[atSize(key, size)] = value;
    details[`members${size}`] = one.details;
  }
  figures.failures = errors.total;
  return { figures, details, errors: errors.toJSON(), cpu: meter.stop() };
}

async function oneSize(
  system: ImSystem,
  members: number,
  o: GroupFanoutOptions,
  errors: ErrorTally,
  profile?: ProfileWindow,
): Promise<Pick<ScenarioResult, "figures" | "details">> {
  const userIds = await system.reuseUsers(members, "g");
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
  /** The last member's wait in each round, in order: the first round wakes every member's object. */
  const eachRound: (number | null)[] = [];
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
    await sleep(1_000); // let the creation notices reach everyone first
    const stopProfile = profile ? await profile(`server-group-fanout-${members}`) : null;
    // workerd's CPU over the rounds alone, per delivery: the cost that bounds the last member's wait
    // on the one thread that runs every object locally, and moves less with the noise than latency.
    const roundsMeter = cpuMeter(system.server);
    const roundsStart = nowMs();
    const deliveredBeforeRounds = deliveries;
    for (let i = 0; i < o.rounds; i++) {
      // The stamp is what the receivers parse back from the content: the key must be the same number.
      const sentAt = sentAtOf(stampedContent(nowMs(), 64));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arrived = new Promise<void>((resolve, reject) => {
        waiting.set(sentAt, { left: receivers.length, done: resolve });
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `${members} members, round ${i}: not every member had it within ${o.roundTimeoutMs} ms`,
              ),
            ),
          o.roundTimeoutMs,
        );
      });
      try {
        await sender.sendTo(conversationId, "", stampedContent(sentAt, 64));
        await arrived;
        lastLatency.add(nowMs() - sentAt);
        eachRound.push(round(nowMs() - sentAt));
      } catch (error) {
        errors.add(error);
      } finally {
        clearTimeout(timer);
        waiting.delete(sentAt);
      }
    }
    const roundsCpu = roundsMeter.stop();
    const roundsDelivered = deliveries - deliveredBeforeRounds;
    const workerdCores = roundsCpu["workerd runtime"] ?? null;
    const cpuMsPerDelivery =
      workerdCores !== null && roundsDelivered > 0
        ? round((workerdCores * (nowMs() - roundsStart)) / roundsDelivered, 3)
        : null;
    await stopProfile?.();
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
        lastMemberP99: last.p99,
        lastMemberMax: last.max,
        cpuMsPerDelivery,
        groupMsgsPerSec: round(sent / seconds),
        deliveriesPerSec: round((deliveries - deliveredBefore) / seconds),
      },
      details: {
        members: userIds.length,
        lastMember: last,
        lastMemberEachRound: eachRound,
        anyMember: memberLatency.summary(),
        sent,
        rounds: { cpu: roundsCpu, deliveries: roundsDelivered },
        cpu,
      },
    };
  } finally {
    for (const c of connections) c.close();
  }
}
