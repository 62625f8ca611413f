// The table's rows: which figures each scenario shows, and its target from issue 6.
import { SWEEP_FRACTIONS, type ScenarioName } from "./options.ts";
import { QUERY_KINDS } from "../scenarios/search.ts";
import { atSize, GROUP_FANOUT_TARGET_MS } from "../scenarios/group-fanout.ts";
import { rowsFor, type Row, type RowSpec, type ScenarioOutcome } from "./report.ts";

export type Outcomes = Partial<Record<ScenarioName, ScenarioOutcome>>;

/** Which figures each scenario shows, and its target (issue 6). */
export function table(outcomes: Outcomes): Row[] {
  const rows: Row[] = [];
  const add = (name: ScenarioName, specs: Parameters<typeof rowsFor>[2]) => {
    const outcome = outcomes[name];
    if (outcome) rows.push(...rowsFor(name, outcome, specs));
  };
  add("one-to-one", [
    {
      key: "msgsPerSec",
      figure: "delivered",
      unit: "msgs/s",
      target: "≥ 0.6× baseline",
      check: (_, r) => r !== null && r >= 0.6,
    },
    { key: "msgsPerCoreSec", figure: "delivered per workerd core", unit: "msgs" },
    { key: "p50", figure: "send→push p50", unit: "ms" },
    { key: "p95", figure: "send→push p95", unit: "ms" },
    { key: "p99", figure: "send→push p99", unit: "ms" },
    { key: "ackP50", figure: "send→ack p50", unit: "ms" },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("one-to-one-tcp", [
    { key: "msgsPerSec", figure: "delivered through the TCP gateway", unit: "msgs/s" },
    { key: "wsMsgsPerSec", figure: "delivered over WebSocket (one-to-one)", unit: "msgs/s" },
    { key: "tcpToWs", figure: "TCP ÷ WebSocket", unit: "×" },
    { key: "gatewayCpuUsPerMsg", figure: "gateway CPU per delivered message", unit: "µs" },
    { key: "gatewayCores", figure: "gateway CPU", unit: "cores" },
    { key: "p50", figure: "send→push p50", unit: "ms" },
    { key: "p99", figure: "send→push p99", unit: "ms" },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("fixed-rate", [
    { key: "ratePerSec", figure: "offered rate", unit: "msgs/s" },
    { key: "achievedPerSec", figure: "delivered", unit: "msgs/s" },
    { key: "p50", figure: "send→push p50", unit: "ms" },
    { key: "p99", figure: "send→push p99", unit: "ms", target: "≤ 50 ms", check: (s) => s <= 50 },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("fixed-rate-own", [
    { key: "ratePerSec", figure: "offered rate", unit: "msgs/s" },
    { key: "achievedPerSec", figure: "delivered", unit: "msgs/s" },
    { key: "p50", figure: "send→push p50", unit: "ms" },
    { key: "p99", figure: "send→push p99", unit: "ms" },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  // Each system at fractions of its own maximum, so the rows compare different rates (no ratio),
  // except the last: both at the server's 25% rate.
  add("latency-sweep", [
    { key: "closedLoopMax", figure: "100% = own closed-loop one-to-one", unit: "msgs/s", ratio: false },
    ...SWEEP_FRACTIONS.flatMap((fraction) => {
      const k = Math.round(fraction * 100);
      const at = (key: string, figure: string, unit: string): RowSpec => ({
        key: `${key}${k}`,
        figure: `${k}%: ${figure}`,
        unit,
        ratio: false,
      });
      const p99 = at("p99At", "send→push p99", "ms");
      if (k === 50) Object.assign(p99, { target: "p99 ≤ 50 ms at 50%", check: (s: number) => s <= 50 });
      return [
        at("rate", "offered", "msgs/s"),
        at("p50At", "send→push p50", "ms"),
        p99,
        at("maxAt", "send→push max", "ms"),
        at("coresAt", "workerd CPU", "cores"),
        at("cpuMsAt", "workerd CPU per message", "ms"),
        at("otherAt", "CPU of other processes (noise)", "cores"),
      ];
    }),
    { key: "sameRate", figure: "both at the server's 25%: offered", unit: "msgs/s" },
    { key: "sameRateP50", figure: "both at the server's 25%: send→push p50", unit: "ms" },
    {
      key: "sameRateP99",
      figure: "both at the server's 25%: send→push p99",
      unit: "ms",
      target: "25%: p99 within 2× of the baseline's p99 at the same rate",
      check: (_, r) => r !== null && r <= 2,
    },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("catch-up", [
    { key: "messages", figure: "messages to catch up", unit: "" },
    {
      key: "batchLoopMs",
      figure: "A: BATCH_SYNC loop",
      unit: "ms",
      target: "≤ 1000 ms",
      check: (s) => s <= 1000,
    },
    {
      key: "batchThenRangeMs",
      figure: "B: BATCH_SYNC + SYNC_RANGE",
      unit: "ms",
      target: "≤ 1000 ms",
      check: (s) => s <= 1000,
    },
    { key: "fillPerSec", figure: "fill rate into 1 user", unit: "msgs/s" },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("d1-lag", [
    { key: "p50", figure: "ack → row in D1 p50", unit: "ms" },
    { key: "p99", figure: "ack → row in D1 p99", unit: "ms", target: "≤ 2000 ms", check: (s) => s <= 2000 },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("connections", [
    { key: "connected", figure: "connected + authed", unit: "sockets" },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
    { key: "connectSeconds", figure: "time to connect all", unit: "s" },
    { key: "connectsPerSec", figure: "connect rate (new users)", unit: "/s" },
    { key: "reconnectsPerSec", figure: "reconnect rate (same users)", unit: "/s" },
    { key: "reconnectFailures", figure: "reconnect failures", unit: "" },
    { key: "kbPerSocket", figure: "workerd memory per socket", unit: "KB" },
    { key: "fdsPerSocket", figure: "workerd descriptors per socket", unit: "" },
    { key: "heartbeatP99", figure: "heartbeat p99", unit: "ms" },
    { key: "maxSockets", figure: "sockets before fd limit", unit: "" },
  ]);
  // One set of rows per group size the run measured, with issue 6's and issue 14's targets.
  const sizes = outcomes["group-fanout"]?.server?.details.sizes;
  const groupSizes = Array.isArray(sizes) ? sizes.filter((n): n is number => typeof n === "number") : [];
  add("group-fanout", [
    ...groupSizes.flatMap((n): RowSpec[] => {
      const target = GROUP_FANOUT_TARGET_MS[n];
      const at = (key: string, figure: string, unit: string): RowSpec => ({
        key: atSize(key, n),
        figure: `${n.toLocaleString("en-US")} members: ${figure}`,
        unit,
      });
      const p50 = at("lastMemberP50", "send → last member has it, p50", "ms");
      if (target !== undefined)
        Object.assign(p50, { target: `≤ ${target} ms`, check: (s: number) => s <= target });
      return [
        p50,
        at("lastMemberP99", "send → last member has it, p99", "ms"),
        at("lastMemberMax", "send → last member has it, max", "ms"),
        at("cpuMsPerDelivery", "workerd CPU per delivery (rounds)", "ms"),
        at("groupMsgsPerSec", "sustained group msgs/s (one sender)", "/s"),
        at("deliveriesPerSec", "deliveries/s to members", "/s"),
      ];
    }),
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  add("chatroom", [
    { key: "listeners", figure: "listeners in one room", unit: "" },
    { key: "joinsPerSec", figure: "joins (open → CHATROOM_JOINED)", unit: "/s" },
    { key: "joinP99", figure: "join p99", unit: "ms" },
    { key: "ratePerSec", figure: "one sender's steady rate", unit: "msgs/s" },
    { key: "lastP50", figure: "send → last listener has it, p50", unit: "ms" },
    {
      key: "lastP99",
      figure: "send → last listener has it, p99",
      unit: "ms",
      target: "chatroom p99 to last listener ≤ 1 s at 5,000 listeners",
      check: (s) => s <= 1000,
    },
    { key: "lastMax", figure: "send → last listener has it, max", unit: "ms" },
    { key: "anyP99", figure: "send → a listener has it, p99", unit: "ms" },
    { key: "deliveriesPerSec", figure: "deliveries to listeners", unit: "/s" },
    {
      key: "lost",
      figure: "lost (a listener never got it)",
      unit: "",
      target: "0 lost",
      check: (s) => s === 0,
    },
    { key: "duplicated", figure: "duplicated pushes", unit: "", target: "0", check: (s) => s === 0 },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  const quietTraffic = (every: string): Parameters<typeof rowsFor>[2] => [
    { key: "sockets", figure: "sockets (one-to-one pairs × 2; groups of 5 among them)", unit: "" },
    { key: "offeredPerSec", figure: `offered, each conversation every ${every}`, unit: "msgs/s" },
    { key: "deliveriesPerSec", figure: "delivered", unit: "deliveries/s" },
    { key: "p50", figure: "send→push p50", unit: "ms" },
    { key: "p99", figure: "send→push p99", unit: "ms" },
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
    { key: "workerdCores", figure: "workerd CPU", unit: "cores" },
    {
      key: "cpuMsPerDelivery",
      figure: "workerd CPU per delivered message",
      unit: "ms",
      target: "CPU per message ≤ 2× baseline",
      check: (_, r) => r !== null && r <= 2,
    },
    // The server's own counts (GET /debug/usage); the relay makes one frame and one RPC per send.
    { key: "framesPerDelivery", figure: "socket frames per delivered message", unit: "" },
    { key: "rpcsPerDelivery", figure: "RPC calls per delivered message", unit: "" },
    { key: "alarmsPerDelivery", figure: "alarms per delivered message", unit: "" },
    { key: "startsPerDelivery", figure: "object starts (constructor runs) per delivered message", unit: "" },
    { key: "requestsPerDelivery", figure: "HTTP requests per delivered message", unit: "" },
    { key: "d1CallsPerDelivery", figure: "D1 calls (round trips) per delivered message", unit: "" },
    { key: "d1StatementsPerDelivery", figure: "D1 statements per delivered message", unit: "" },
    { key: "d1RowsPerDelivery", figure: "D1 rows written per delivered message", unit: "" },
    { key: "storageRowsPerDelivery", figure: "object SQLite rows written per delivered message", unit: "" },
    { key: "alarmWritesPerDelivery", figure: "alarm sets and deletes per delivered message", unit: "" },
  ];
  add("sparse", quietTraffic("2–10 s"));
  add("dense", quietTraffic("150–350 ms"));
  add("search", [
    { key: "messages", figure: "messages stored in D1", unit: "" },
    { key: "readable", figure: "of them the searcher may read", unit: "" },
    { key: "corpusSeconds", figure: "time to write them (triggers included)", unit: "s" },
    { key: "p50", figure: "search p50, all kinds", unit: "ms" },
    {
      key: "p95",
      figure: "search p95, all kinds",
      unit: "ms",
      target: "search p95 ≤ 100 ms",
      check: (s) => s <= 100,
    },
    { key: "max", figure: "search max, all kinds", unit: "ms" },
    ...QUERY_KINDS.flatMap((kind) => [
      { key: `${kind.key}P50`, figure: `${kind.label}: p50`, unit: "ms" },
      { key: `${kind.key}P95`, figure: `${kind.label}: p95`, unit: "ms" },
      { key: `${kind.key}Max`, figure: `${kind.label}: max`, unit: "ms" },
    ]),
    { key: "failures", figure: "failures", unit: "", target: "0", check: (s) => s === 0 },
  ]);
  return rows;
}
