// Command-line options of `npm run bench -- …` and the load of each scenario in quick and full mode.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseArgs } from "node:util";
import type { Via } from "./server.ts";

export const SCENARIOS = [
  "one-to-one",
  "one-to-one-tcp",
  "fixed-rate",
  "fixed-rate-own",
  "latency-sweep",
  "catch-up",
  "d1-lag",
  "connections",
  "group-fanout",
  "chatroom",
  "sparse",
  "dense",
  "search",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The latency sweep's steps: fixed rates at these fractions of each system's own one-to-one maximum. */
export const SWEEP_FRACTIONS = [0.1, 0.25, 0.5, 0.75];

export const USAGE = `npm run bench [-- options]

  --quick              short runs (about 7 min; sparse 1 min 40 s, dense 1 min, latency-sweep 1 min 45 s,
                       search 40 s: 100,000 messages instead of 1,000,000)
  --only a,b           run only these scenarios: ${SCENARIOS.join(", ")}
                       (latency-sweep runs one-to-one too: its fixed rates are fractions of that one)
  --no-baseline        skip the baseline relay (no ratios; the fixed rate needs --rate)
  --floor              the baseline's messages go through its ordered floor (a conversation
                       object that stores each message, receivers that keep an inbox row, a writer
                       that batches the copies into D1) instead of straight to the receiver
  --via direct|proxy   connect to workerd directly (default) or through wrangler's dev proxy
  --rate N             fixed-rate scenario: N msgs/s instead of half the baseline's one-to-one rate
  --connections N      connections scenario: N sockets
  --connect-rate N     connections scenario: open at most N a second (default: as fast as they open)
  --listeners N        chatroom scenario: N listeners (default 5,000; --quick 1,000)
  --room-rate N        chatroom scenario: the sender's steady msgs/s (default 5, a room's per-sender
                       limit; above it the limit is lifted for the run)
  --sparse-every A-B   sparse scenario: each conversation sends every A to B seconds (default 2-10);
                       longer than the runtime keeps an idle object, it measures the wakes too
  --group-members a,b  group-fanout scenario: these group sizes, one group each (default 500,2000;
                       quick: 100); at most GROUP_MAX_MEMBERS (2,000) each
  --state-dir DIR      put the fresh --persist-to directories under DIR; default /dev/shm (memory)
                       where it exists, so the shared disk's fsync latency stays out of the
                       figures; e.g. --state-dir /tmp measures with the disk
  --profile            also take a CPU profile of the server's worker during one-to-one, fixed-rate and sparse (inspector)
  --heap               fixed-rate: also read the isolate's heap every 50 ms (inspector): its peak, its
                       large falls (old-generation collections) and how long the thread held a reading
  --out FILE           results file (default bench/results/latest.json)`;

export interface Options {
  quick: boolean;
  only: Set<ScenarioName>;
  baseline: boolean;
  /** The baseline's messages through its ordered floor instead of its direct relay. */
  floor: boolean;
  via: Via;
  rate: number | null;
  connections: number | null;
  connectRate: number | null;
  listeners: number | null;
  roomRate: number | null;
  groupMembers: number[] | null;
  /** The sparse scenario's interval between a conversation's messages, [min, max] ms. */
  sparseEveryMs: [number, number] | null;
  profile: boolean;
  heap: boolean;
  stateDir: string;
  out: string | null;
}

/** "2-10" (seconds) as [2000, 10000] ms; null when not given. */
function secondsRange(text: string | undefined, name: string): [number, number] | null {
  if (text === undefined) return null;
  const [min, max] = text.split("-").map(Number);
  if (min === undefined || max === undefined || !(min > 0) || !(max >= min))
    throw new Error(`--${name} must be A-B seconds with 0 < A <= B`);
  return [min * 1_000, max * 1_000];
}

export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      "no-baseline": { type: "boolean", default: false },
      floor: { type: "boolean", default: false },
      via: { type: "string", default: "direct" },
      rate: { type: "string" },
      connections: { type: "string" },
      "connect-rate": { type: "string" },
      listeners: { type: "string" },
      "room-rate": { type: "string" },
      "group-members": { type: "string" },
      "sparse-every": { type: "string" },
      profile: { type: "boolean", default: false },
      heap: { type: "boolean", default: false },
      "state-dir": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return null;
  const only = new Set<ScenarioName>();
  for (const name of (values.only ?? SCENARIOS.join(",")).split(",")) {
    if (!(SCENARIOS as readonly string[]).includes(name))
      throw new Error(`unknown scenario ${name}\n${USAGE}`);
    only.add(name as ScenarioName);
  }
  if (values.via !== "direct" && values.via !== "proxy") throw new Error(`--via must be direct or proxy`);
  const positive = (text: string | undefined, name: string) => {
    if (text === undefined) return null;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  return {
    quick: values.quick,
    only,
    baseline: !values["no-baseline"],
    floor: values.floor,
    via: values.via,
    rate: positive(values.rate, "rate"),
    connections: positive(values.connections, "connections"),
    connectRate: positive(values["connect-rate"], "connect-rate"),
    listeners: positive(values.listeners, "listeners"),
    roomRate: positive(values["room-rate"], "room-rate"),
    groupMembers: groupSizes(values["group-members"]),
    sparseEveryMs: secondsRange(values["sparse-every"], "sparse-every"),
    profile: values.profile,
    heap: values.heap,
    stateDir: values["state-dir"] ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir()),
    out: values.out ?? null,
  };
}

/** `--group-members 500,2000`: whole sizes from 2 (a sender and one member) to the server's cap. */
function groupSizes(text: string | undefined): number[] | null {
  if (text === undefined) return null;
  const sizes = text.split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > GROUP_MAX_MEMBERS))
    throw new Error(`--group-members must be a list of whole numbers from 2 to ${GROUP_MAX_MEMBERS}`);
  return sizes;
}

/** The server's default GROUP_MAX_MEMBERS (src/config/settings.ts): a larger group cannot be made. */
const GROUP_MAX_MEMBERS = 2_000;

/** The load of each scenario; quick mode trims durations and counts (about 7 min in all). */
export function plan(o: Options) {
  const q = o.quick;
  return {
    pairs: 50,
    oneToOne: {
      pairs: 50,
      window: 10,
      warmupMs: q ? 2_000 : 3_000,
      durationMs: q ? 10_000 : 30_000,
      contentBytes: 64,
      drainMs: q ? 5_000 : 10_000,
    },
    fixedRate: {
      warmupMs: 1_000,
      durationMs: q ? 6_000 : 20_000,
      contentBytes: 64,
      maxInFlightPerSender: 100,
      drainMs: q ? 5_000 : 10_000,
    },
    fixedRateOwn: {
      warmupMs: 1_000,
      durationMs: q ? 4_000 : 15_000,
      contentBytes: 64,
      maxInFlightPerSender: 100,
      drainMs: q ? 3_000 : 10_000,
    },
    // Fixed rates at these fractions of each system's own one-to-one maximum (issue 17), and the
    // baseline also at the server's `sameRateFraction` rate; each step is one fixed-rate run.
    latencySweep: {
      fractions: SWEEP_FRACTIONS,
      sameRateFraction: 0.25,
      step: {
        warmupMs: q ? 1_000 : 3_000,
        durationMs: q ? 10_000 : 30_000,
        contentBytes: 64,
        maxInFlightPerSender: 100,
        drainMs: q ? 3_000 : 10_000,
      },
    },
    catchUp: {
      conversations: 100,
      messages: q ? 2_000 : 10_000,
      window: 10,
      fillTimeoutMs: q ? 20_000 : 120_000,
      settleTimeoutMs: q ? 10_000 : 60_000,
    },
    d1Lag: { pairs: 10, ratePerSec: 100, durationMs: q ? 5_000 : 15_000, drainMs: q ? 8_000 : 20_000 },
    groupFanout: {
      members: o.groupMembers ?? (q ? [100] : [500, 2_000]),
      rounds: q ? 3 : 10,
      window: 5,
      durationMs: q ? 3_000 : 10_000,
      roundTimeoutMs: 15_000,
    },
    // Issue 14: one room, one sender at a steady rate, many listeners (the client process and
    // workerd each have a 20,000-descriptor limit here: 5,000 sockets stay well below it).
    chatroom: {
      listeners: o.listeners ?? (q ? 1_000 : 5_000),
      joinConcurrency: 32,
      // One person in a room is held to CHATROOM_SEND_PER_SECOND (5): a steady sender at that rate.
      ratePerSec: o.roomRate ?? 5,
      durationMs: q ? 10_000 : 30_000,
      maxInFlight: 100,
      contentBytes: 64,
      drainMs: q ? 10_000 : 20_000,
      closeRatePerSec: 1_000,
    },
    sparse: {
      pairs: q ? 250 : 1_000,
      groups: q ? 25 : 100,
      groupSize: 5,
      minIntervalMs: o.sparseEveryMs?.[0] ?? 2_000,
      maxIntervalMs: o.sparseEveryMs?.[1] ?? 10_000,
      warmupMs: q ? 10_000 : 20_000,
      durationMs: q ? 30_000 : 90_000,
      contentBytes: 64,
      drainMs: q ? 5_000 : 10_000,
      closeRatePerSec: 1_000,
    },
    // The same scenario and counts for the pattern the other scenarios drive: few busy
    // conversations (each about four messages a second), for the cost table beside the sparse one.
    dense: {
      pairs: 50,
      groups: 10,
      groupSize: 5,
      minIntervalMs: 150,
      maxIntervalMs: 350,
      warmupMs: 5_000,
      durationMs: q ? 15_000 : 30_000,
      contentBytes: 64,
      drainMs: 5_000,
      closeRatePerSec: 1_000,
    },
    // Issue 15: 1,000,000 stored messages (quick: 100,000, of which 30,000 the searcher's, still
    // past the 20,000 up to which a history is scanned rather than searched through the index).
    search: {
      corpus: {
        messages: q ? 100_000 : 1_000_000,
        userMessages: q ? 30_000 : 100_000,
        userSingles: 40,
        userGroups: 10,
        otherConversations: q ? 500 : 2_000,
        groupSize: 20,
        days: 365,
        seed: 15,
      },
      rounds: q ? 10 : 30,
      warmupRounds: 1,
      limit: 20,
    },
    connections: {
      count: o.connections ?? (q ? 500 : 5_000),
      concurrency: 32,
      holdMs: q ? 2_000 : 30_000,
      maxFailures: q ? 50 : 250,
      ratePerSec: o.connectRate,
      closeRatePerSec: 200,
      settleMs: q ? 3_000 : 40_000,
    },
  };
}
