// Scenario 3, catch-up (server only): a user who has seen one message in each of C conversations goes
// offline; N more messages arrive across them; the user reconnects. Measured: from opening the
// socket until the client holds every message, with the SDK's calls:
//   A. BATCH_SYNC with its last seqs, repeated while any conversation says has_more, then
//      SYNC_RANGE for any gap left;
//   B. one BATCH_SYNC page, then SYNC_RANGE (500 a page) for the rest of each conversation, in
//      parallel, 16 at a time.
// Both read the same data (syncs change nothing on the server).
import { ImConnection, singleConversationId } from "../clients/im-connection.ts";
import type { Account } from "../lib/accounts.ts";
import { ErrorTally, nowMs, round, sleep } from "../lib/stats.ts";
import { mapLimited } from "../../src/lib/map-limited.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";
import type { ImSystem } from "../clients/systems.ts";

export interface CatchUpOptions {
  conversations: number;
  /** Messages sent while the user is offline, spread evenly over the conversations. */
  messages: number;
  /** Unacked sends per peer while filling. */
  window: number;
  /** Most time spent filling, and waiting for the fan-out to reach the user's inbox. */
  fillTimeoutMs: number;
  settleTimeoutMs: number;
}

const MAX_BATCH_ROUNDS = 200;
const RANGE_PAGE = 500;
const RANGE_CONCURRENCY = 16;

export async function catchUp(system: ImSystem, o: CatchUpOptions): Promise<ScenarioResult> {
  const origin = system.server.origin;
  const errors = new ErrorTally();
  // Peers are any registered users (the one-to-one pairs when they ran); the target is new, so
  // its inbox holds exactly these conversations.
  const peerIds = await system.reuseUsers(o.conversations, "u");
  const [targetId] = await system.users(1, "t");
  const target = system.account(targetId as string);
  const peers = await mapLimited(peerIds, 20, (id) => ImConnection.open(origin, system.account(id)));
  const conversationIds = peers.map((p) => singleConversationId(p.userId, target.userId));
  try {
    // Online first: one message per conversation, so the client knows each at seq 1.
    const online = await ImConnection.open(origin, target);
    let seen = 0;
    online.onPush = () => seen++;
    await mapLimited(peers, 20, (peer) => peer.sendText(target.userId, "hello"));
    const seenBy = nowMs() + 20_000;
    while (seen < peers.length && nowMs() < seenBy) await sleep(20);
    online.close();
    await sleep(200);

    // Offline: N messages across the conversations.
    // Bounded in time too: on a starved machine the user catches up on what was stored by then.
    const perConversation = Math.ceil(o.messages / peers.length);
    const fillStart = nowMs();
    const fillBy = fillStart + o.fillTimeoutMs;
    let offlineCount = 0;
    await mapLimited(peers, peers.length, async (peer) => {
      let next = 0;
      const lane = async () => {
        while (next < perConversation && nowMs() < fillBy) {
          const i = next++;
          await peer.sendText(target.userId, `offline ${i} `.padEnd(64, "x")).then(
            () => offlineCount++,
            (e: unknown) => errors.add(e),
          );
        }
      };
      await Promise.all(Array.from({ length: o.window }, lane));
    });
    const fillSeconds = (nowMs() - fillStart) / 1000;
    if (offlineCount < perConversation * peers.length) {
      errors.add(
        `filled ${offlineCount} of ${perConversation * peers.length} messages in ${o.fillTimeoutMs} ms`,
      );
    }

    // Fan-out to the user's inbox runs after the acks; wait until AUTH reports it complete.
    const expectedInboxSeq = peers.length + offlineCount;
    let inboxSeq = 0;
    const settleBy = nowMs() + o.settleTimeoutMs;
    while (nowMs() < settleBy) {
      const probe = await ImConnection.open(origin, target);
      inboxSeq = probe.authMaxSeq;
      probe.close();
      if (inboxSeq >= expectedInboxSeq) break;
      await sleep(250);
    }
    if (inboxSeq < expectedInboxSeq) errors.add(`inbox had ${inboxSeq} of ${expectedInboxSeq} messages`);

    const meter = cpuMeter(system.server);
    const a = await syncByBatch(origin, target, conversationIds, errors);
    const b = await syncByRange(origin, target, conversationIds, errors);
    const cpu = meter.stop();
    for (const [name, run] of [
      ["A", a],
      ["B", b],
    ] as const) {
      if (run.messages < offlineCount) errors.add(`${name}: brought ${run.messages} of ${offlineCount}`);
    }
    return {
      figures: {
        batchLoopMs: a.totalMs,
        batchThenRangeMs: b.totalMs,
        messages: offlineCount,
        fillPerSec: round(offlineCount / fillSeconds, 0),
        failures: errors.total,
      },
      details: { options: o, offlineMessages: offlineCount, fillSeconds: round(fillSeconds, 2), A: a, B: b },
      errors: errors.toJSON(),
      cpu,
    };
  } finally {
    for (const peer of peers) peer.close();
  }
}

interface SyncRun {
  totalMs: number | null;
  authMs: number | null;
  messages: number;
  batchRounds: number;
  rangeRequests: number;
  responseBytes: number;
}

/** What the client holds: per conversation, the seqs received beyond the one it knew. */
class Received {
  readonly seqs = new Map<string, Set<number>>();
  count = 0;

  add(conversationId: string, messages: { seq?: number | null }[] | null | undefined): void {
    let set = this.seqs.get(conversationId);
    if (!set) this.seqs.set(conversationId, (set = new Set()));
    for (const m of messages ?? []) {
      const seq = Number(m.seq);
      if (seq > 1 && !set.has(seq)) {
        set.add(seq);
        this.count++;
      }
    }
  }

  /** Ranges of seqs missing between 2 and maxSeq. */
  gaps(conversationId: string, maxSeq: number): [number, number][] {
    const set = this.seqs.get(conversationId) ?? new Set<number>();
    const out: [number, number][] = [];
    let from = 0;
    for (let s = 2; s <= maxSeq; s++) {
      if (!set.has(s) && from === 0) from = s;
      if (set.has(s) && from !== 0) {
        out.push([from, s - 1]);
        from = 0;
      }
    }
    if (from !== 0) out.push([from, maxSeq]);
    return out;
  }
}

async function rangeFill(
  connection: ImConnection,
  conversationId: string,
  from: number,
  to: number,
  received: Received,
  run: SyncRun,
): Promise<void> {
  let start = from;
  for (let page = 0; page < 1_000 && start <= to; page++) {
    const response = await connection.syncRange(conversationId, start, to, RANGE_PAGE);
    run.rangeRequests++;
    received.add(conversationId, response.messages);
    if (!response.hasMore) return;
    start = Number(response.endSeq) + 1;
  }
}

/**
 * One catch-up as a client does it: open and authenticate, run `sync`, and time it all; the
 * messages received, the requests made and the bytes read go into the run.
 */
async function timedSync(
  origin: string,
  target: Account,
  errors: ErrorTally,
  sync: (connection: ImConnection, received: Received, run: SyncRun) => Promise<void>,
): Promise<SyncRun> {
  const run: SyncRun = {
    totalMs: null,
    authMs: null,
    messages: 0,
    batchRounds: 0,
    rangeRequests: 0,
    responseBytes: 0,
  };
  const received = new Received();
  const started = nowMs();
  const connection = await ImConnection.open(origin, target);
  run.authMs = round(nowMs() - started);
  try {
    await sync(connection, received, run);
    run.totalMs = round(nowMs() - started);
  } catch (error) {
    errors.add(error);
  } finally {
    run.responseBytes = connection.bytesReceived;
    connection.close();
  }
  run.messages = received.count;
  return run;
}

function syncByBatch(origin: string, target: Account, ids: string[], errors: ErrorTally): Promise<SyncRun> {
  return timedSync(origin, target, errors, async (connection, received, run) => {
    const lastSeq = new Map(ids.map((id) => [id, 1]));
    const maxSeq = new Map<string, number>();
    let more = true;
    while (more && run.batchRounds < MAX_BATCH_ROUNDS) {
      const states = [...lastSeq].map(([conversationId, seq]) => ({ conversationId, lastSeq: seq }));
      const response = await connection.batchSync(states);
      run.batchRounds++;
      more = false;
      for (const c of response.conversationMessages) {
        const id = c.conversationId as string;
        received.add(id, c.messages);
        maxSeq.set(id, Number(c.maxSeq));
        lastSeq.set(id, Number(c.syncedSeq));
        if (c.hasMore) more = true;
      }
    }
    await mapLimited([...maxSeq], RANGE_CONCURRENCY, async ([id, max]) => {
      for (const [from, to] of received.gaps(id, max))
        await rangeFill(connection, id, from, to, received, run);
    });
  });
}

function syncByRange(origin: string, target: Account, ids: string[], errors: ErrorTally): Promise<SyncRun> {
  return timedSync(origin, target, errors, async (connection, received, run) => {
    const response = await connection.batchSync(
      ids.map((conversationId) => ({ conversationId, lastSeq: 1 })),
    );
    run.batchRounds++;
    const rest: [string, number, number][] = [];
    for (const c of response.conversationMessages) {
      const id = c.conversationId as string;
      received.add(id, c.messages);
      if (c.hasMore) rest.push([id, Number(c.syncedSeq) + 1, Number(c.maxSeq)]);
    }
    await mapLimited(rest, RANGE_CONCURRENCY, ([id, from, to]) =>
      rangeFill(connection, id, from, to, received, run),
    );
  });
}
