// Chatroom (issue 14): N listeners in one open room, joined `joinConcurrency` at a time, and one
// steady sender at a fixed rate for a bounded time. Measured: the time from a send until the LAST
// listener has the message (p50/p99/max) and until any listener has it, deliveries/s, messages some
// listener never got as a push (lost), messages a listener got twice (duplicated), and joins/s.
//
// Listeners are lean room sockets (bench/clients/chatroom-socket.ts) that acknowledge as the SDK does
// (every 100 messages or 2 s); unlike the SDK they do not fill gaps with HISTORY_REQ, so a message
// the relays failed to push counts as lost here instead of being fetched again.
import { ChatroomSocket, createRoom, type RoomMessage } from "../clients/chatroom-socket.ts";
import type { ImSystem } from "../clients/systems.ts";
import { ErrorTally, nowMs, round, Samples, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { sentAtOf, stampedContent } from "./one-to-one.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface ChatroomOptions {
  listeners: number;
  /** Room sockets being opened at once. */
  joinConcurrency: number;
  /** The one sender's steady rate, messages a second, for `durationMs`. */
  ratePerSec: number;
  durationMs: number;
  /** Sends awaiting their answer at most; past it a send waits (and the rate slips, reported). */
  maxInFlight: number;
  contentBytes: number;
  /** After the last send, wait at most this long for every listener to have every message. */
  drainMs: number;
  /** Sockets closed a second at the end (each close wakes its relay). */
  closeRatePerSec: number;
}

const decoder = new TextDecoder();

export async function chatroom(
  system: ImSystem,
  o: ChatroomOptions,
  /** A CPU profile of the worker over the sending window (`--profile`). */
  profile?: () => Promise<() => Promise<void>>,
): Promise<ScenarioResult> {
  const errors = new ErrorTally();
  const [creatorId, ...listenerIds] = await system.connectOnlyUsers(o.listeners + 1, "r");
  const creator = system.account(creatorId as string);
  const roomId = await createRoom(system.server.origin, creator.token, "bench room");
  const origin = system.server.origin;

  // Each sent message's seq (1, 2, …) indexes these; a listener's own bitmap says what it got.
  const capacity = Math.ceil((o.ratePerSec * o.durationMs) / 1000) + 16;
  const arrivals = new Uint32Array(capacity + 1);
  const lastArrival = new Float64Array(capacity + 1);
  const sentAtBySeq = new Float64Array(capacity + 1);
  const anyLatency = new Samples();
  let deliveries = 0;
  let duplicated = 0;
  let outOfRange = 0;

  // Joins, bounded: the join rate and each join's time (open → CHATROOM_JOINED).
  const joinTimes = new Samples();
  const joinStarted = nowMs();
  const joinMeter = cpuMeter(system.server);
  const opened = await mapLimited(listenerIds, o.joinConcurrency, async (userId) => {
    const t = nowMs();
    try {
      const socket = await ChatroomSocket.open(origin, roomId, system.account(userId).token);
      joinTimes.add(nowMs() - t);
      return socket;
    } catch (error) {
      errors.add(error);
      return null;
    }
  });
  const joinSeconds = (nowMs() - joinStarted) / 1000;
  const joinCpu = joinMeter.stop();
  const listeners = opened.filter((s): s is ChatroomSocket => s !== null);

  for (const listener of listeners) {
    const got = new Uint8Array(capacity + 1);
    listener.onMessages = (messages: RoomMessage[]) => {
      const at = nowMs();
      for (const m of messages) {
        const seq = Number(m.seq);
        if (seq < 1 || seq > capacity) {
          outOfRange++;
          continue;
        }
        if (got[seq]) {
          duplicated++;
          continue;
        }
        got[seq] = 1;
        deliveries++;
        arrivals[seq]!++;
        if (at > lastArrival[seq]!) lastArrival[seq] = at;
        const sentAt = sentAtOf(decoder.decode(m.content ?? undefined));
        if (Number.isFinite(sentAt)) anyLatency.add(at - sentAt);
      }
    };
  }

  // The sender: its own room socket (not a listener), an open loop at the fixed rate.
  const sender = await ChatroomSocket.open(origin, roomId, creator.token);
  const ackLatency = new Samples();
  let sent = 0;
  let inFlight = 0;
  let lastSeq = 0;
  const stopProfile = profile ? await profile() : null;
  const meter = cpuMeter(system.server);
  const started = nowMs();
  const sends: Promise<void>[] = [];
  const total = Math.floor((o.ratePerSec * o.durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / o.ratePerSec;
    await sleep(due - nowMs());
    while (inFlight >= o.maxInFlight) await sleep(5);
    // The stamp is what the listeners parse back: the same number keys the send.
    const sentAt = sentAtOf(stampedContent(nowMs(), o.contentBytes));
    inFlight++;
    sends.push(
      sender.sendText(stampedContent(sentAt, o.contentBytes)).then(
        (answer) => {
          inFlight--;
          sent++;
          const seq = Number(answer.seq);
          ackLatency.add(nowMs() - sentAt);
          if (seq >= 1 && seq <= capacity) sentAtBySeq[seq] = sentAt;
          lastSeq = Math.max(lastSeq, seq);
        },
        (error: unknown) => {
          inFlight--;
          errors.add(error);
        },
      ),
    );
  }
  await Promise.all(sends);
  await stopProfile?.();
  const sendSeconds = (nowMs() - started) / 1000;
  const deliveredInWindow = deliveries;

  // Drain: until every listener has every message, or the time is up.
  const complete = () => {
    for (let seq = 1; seq <= lastSeq && seq <= capacity; seq++)
      if (arrivals[seq]! < listeners.length) return false;
    return true;
  };
  const drainStart = nowMs();
  while (!complete() && nowMs() - drainStart < o.drainMs) await sleep(100);
  const seconds = (nowMs() - started) / 1000;
  const cpu = meter.stop();

  const lastLatency = new Samples();
  let lost = 0;
  for (let seq = 1; seq <= lastSeq && seq <= capacity; seq++) {
    const missing = listeners.length - arrivals[seq]!;
    if (missing > 0) lost += missing;
    else if (sentAtBySeq[seq]! > 0) lastLatency.add(lastArrival[seq]! - sentAtBySeq[seq]!);
  }
  const closedDuring = listeners.filter((l) => l.closed);
  for (const l of closedDuring) errors.add(`listener closed (${l.closedWith?.code} ${l.closedWith?.reason})`);
  if (outOfRange > 0) errors.add(`${outOfRange} pushed messages outside the sent seqs`);

  for (let i = 0; i < listeners.length; i++) {
    listeners[i]?.terminate();
    if ((i + 1) % Math.max(1, Math.round(o.closeRatePerSec / 10)) === 0) await sleep(100);
  }
  sender.close();

  const last = lastLatency.summary();
  const any = anyLatency.summary();
  return {
    figures: {
      listeners: listeners.length,
      joinsPerSec: round(listeners.length / joinSeconds),
      joinP99: joinTimes.summary().p99,
      ratePerSec: o.ratePerSec,
      sentPerSec: round(sent / sendSeconds),
      lastP50: last.p50,
      lastP99: last.p99,
      lastMax: last.max,
      anyP50: any.p50,
      anyP99: any.p99,
      deliveriesPerSec: round(deliveredInWindow / sendSeconds),
      lost,
      duplicated,
      failures: errors.total,
    },
    details: {
      options: o,
      roomId,
      joined: listeners.length,
      joinSeconds: round(joinSeconds, 2),
      join: joinTimes.summary(),
      joinCpu,
      sent,
      lastSeq,
      ack: ackLatency.summary(),
      lastListener: last,
      anyListener: any,
      deliveries,
      seconds: round(seconds, 2),
      closedDuring: closedDuring.length,
    },
    errors: errors.toJSON(),
    cpu,
  };
}
