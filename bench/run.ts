// `npm run bench [-- --quick]`: starts the baseline relay and then the IM server under `wrangler dev`
// with fresh state, drives both with the same load from Node clients, prints the table and writes
// bench/results/latest.json. Options: bench/lib/options.ts. What each scenario does: bench/scenarios/.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { imSystem, relaySystem, tcpSystem, type ChatSystem, type ImSystem } from "./clients/systems.ts";
import { startGateway } from "./lib/gateway.ts";
import { gitInfo, load, machineInfo } from "./lib/machine.ts";
import { parseOptions, plan, USAGE, type Options, type ScenarioName } from "./lib/options.ts";
import { filesystemType } from "./lib/proc.ts";
import { startHeapProbe } from "./lib/heap-probe.ts";
import { startCpuProfile } from "./lib/profile.ts";
import { formatCpu, formatTable } from "./lib/report.ts";
import { sweepPlot } from "./lib/sweep-plot.ts";
import { table, type Outcomes } from "./lib/table.ts";
import {
  logTail,
  root,
  startServer,
  stopAll,
  type RunningServer,
  type StartOptions,
  type SystemKind,
} from "./lib/server.ts";
import { writeCorpus, type Corpus } from "./lib/search-corpus.ts";
import { catchUp } from "./scenarios/catch-up.ts";
import { chatroom } from "./scenarios/chatroom.ts";
import { connections } from "./scenarios/connections.ts";
import { d1Lag } from "./scenarios/d1-lag.ts";
import { fixedRate } from "./scenarios/fixed-rate.ts";
import { groupFanout } from "./scenarios/group-fanout.ts";
import { latencySweep } from "./scenarios/latency-sweep.ts";
import { closePairs, connectPairs, oneToOne } from "./scenarios/one-to-one.ts";
import { search } from "./scenarios/search.ts";
import { sparse } from "./scenarios/sparse.ts";
import type { ScenarioResult } from "./scenarios/result.ts";

/** Half the baseline's one-to-one rate, when there is no baseline figure: issue 6's probe (~1,100). */
const FALLBACK_RATE = 550;

/** A CPU profile of the server's worker over a scenario's window; the returned function ends it. */
async function profileWindow(server: RunningServer, name: string): Promise<() => Promise<void>> {
  const profile = await startCpuProfile(server);
  return async () => {
    if (!profile) return;
    const file = await profile.stop(join(root, `bench/results/${name}.cpuprofile`));
    console.log(`  cpu profile of the worker: ${relative(root, file.path)}\n${file.top}`);
  };
}

function summarize(result: ScenarioResult): string {
  const figures = Object.entries(result.figures)
    .map(([k, v]) => `${k}=${v ?? "–"}`)
    .join(" ");
  const errors = Object.entries(result.errors)
    .map(([k, v]) => `\n    ${v}× ${k}`)
    .join("");
  return `  ${figures}${errors}`;
}

async function measure(
  outcomes: Outcomes,
  name: ScenarioName,
  kind: SystemKind,
  run: () => Promise<ScenarioResult>,
): Promise<ScenarioResult | null> {
  const outcome = (outcomes[name] ??= {});
  console.log(`▶ ${kind}: ${name}`);
  const started = Date.now();
  try {
    const result = await run();
    outcome[kind] = result;
    console.log(`${summarize(result)}\n  (${((Date.now() - started) / 1000).toFixed(1)} s with set-up)`);
    console.log(formatCpu("while measuring", result.cpu));
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    (outcome.error ??= {})[kind] = message;
    console.log(`  FAILED: ${message}`);
    return null;
  }
}

/**
 * One-to-one then fixed rate over the same 50 pairs; returns the one-to-one msgs/s. The latency
 * sweep needs that maximum, so it runs one-to-one even when not asked for; the server's sweep runs
 * here, the baseline's later (baselineSweep), once the server's maximum is known.
 */
async function messaging(
  o: Options,
  outcomes: Outcomes,
  system: ChatSystem,
  rate: (oneToOneMax: number | null) => number,
): Promise<number | null> {
  const p = plan(o);
  const wanted: ScenarioName[] = ["one-to-one", "fixed-rate", "fixed-rate-own", "latency-sweep"];
  if (!wanted.some((n) => o.only.has(n))) return null;
  const pairs = await connectPairs(system, p.pairs, "p");
  try {
    let max: number | null = null;
    if (o.only.has("one-to-one") || o.only.has("latency-sweep")) {
      const endProfile =
        o.profile && system.kind === "server"
          ? await profileWindow(system.server, "server-one-to-one")
          : null;
      const result = await measure(outcomes, "one-to-one", system.kind, () =>
        oneToOne(system, pairs, p.oneToOne),
      );
      await endProfile?.();
      max = result?.figures.msgsPerSec ?? null;
    }
    if (o.only.has("fixed-rate")) {
      const ratePerSec = rate(max);
      console.log(`  fixed rate: ${ratePerSec} msgs/s`);
      // Each message travels alone here: the profile shows what a lone message costs (issue 17).
      const endProfile =
        o.profile && system.kind === "server"
          ? await profileWindow(system.server, "server-fixed-rate")
          : null;
      await measure(outcomes, "fixed-rate", system.kind, async () => {
        const probe = o.heap ? await startHeapProbe(system.server) : null;
        const result = await fixedRate(system, pairs, { ...p.fixedRate, ratePerSec });
        if (!probe) return result;
        const heap = await probe.stop();
        console.log(
          `  heap: ${Object.entries(heap)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`,
        );
        return { ...result, details: { ...result.details, heap } };
      });
      await endProfile?.();
    }
    // The server at half its own one-to-one rate: its latency when it is not overloaded.
    if (o.only.has("fixed-rate-own") && system.kind === "server" && max) {
      const ratePerSec = Math.round(max / 2);
      console.log(`  fixed rate: ${ratePerSec} msgs/s (half the server's own one-to-one rate)`);
      await measure(outcomes, "fixed-rate-own", system.kind, () =>
        fixedRate(system, pairs, { ...p.fixedRateOwn, ratePerSec }),
      );
    }
    if (o.only.has("latency-sweep") && system.kind === "server") {
      const sweepMax = max;
      await measure(outcomes, "latency-sweep", system.kind, () => {
        if (!sweepMax) throw new Error("no one-to-one maximum for the server in this run");
        return latencySweep(system, pairs, sweepMax, sweepMax, p.latencySweep);
      });
    }
    return max;
  } finally {
    closePairs(pairs);
  }
}

/**
 * The baseline's latency sweep, on a fresh relay after the server ran: at fractions of its own
 * maximum (measured earlier in the run) and at the server's 25% rate, known only now.
 */
async function baselineSweep(
  o: Options,
  outcomes: Outcomes,
  server: RunningServer,
  baselineMax: number | null,
  serverMax: number | null,
): Promise<void> {
  const system = relaySystem(server, o.floor);
  const pairs = await connectPairs(system, plan(o).pairs, "s");
  try {
    await measure(outcomes, "latency-sweep", "baseline", () => {
      if (!baselineMax) throw new Error("no one-to-one maximum for the baseline in this run");
      return latencySweep(system, pairs, baselineMax, serverMax, plan(o).latencySweep);
    });
  } finally {
    closePairs(pairs);
  }
}

/**
 * One-to-one again through the TCP gateway (started beside the server, bridged to the same origin),
 * over new pairs; reported with the WebSocket figure and the gateway's CPU per delivered message.
 */
async function tcpOneToOne(o: Options, outcomes: Outcomes, im: ImSystem, wsMsgsPerSec: number | null) {
  const p = plan(o);
  const gateway = await startGateway(im.server);
  try {
    const system = tcpSystem(im, gateway);
    const pairs = await connectPairs(system, p.pairs, "t");
    try {
      await measure(outcomes, "one-to-one-tcp", "server", async () => {
        const result = await oneToOne(system, pairs, p.oneToOne);
        const msgs = result.figures.msgsPerSec;
        const cores = result.cpu["tcp gateway (node)"] ?? null;
        result.figures.wsMsgsPerSec = wsMsgsPerSec;
        result.figures.tcpToWs = msgs && wsMsgsPerSec ? Math.round((msgs / wsMsgsPerSec) * 100) / 100 : null;
        result.figures.gatewayCores = cores;
        result.figures.gatewayCpuUsPerMsg = cores !== null && msgs ? Math.round((cores * 1e6) / msgs) : null;
        return result;
      });
    } finally {
      closePairs(pairs);
    }
  } finally {
    await gateway.stop();
  }
}

/** Runs `body` against a fresh `wrangler dev` of `kind`; `label` names it in the results and logs. */
async function withServer<T>(
  kind: SystemKind,
  label: string,
  o: Options,
  systems: Record<string, unknown>,
  body: (server: RunningServer) => Promise<T>,
  start: Pick<StartOptions, "extraArgs" | "prepare"> = {},
): Promise<T> {
  const t = Date.now();
  const server = await startServer(kind, {
    via: o.via,
    readable: o.profile,
    stateParent: o.stateDir,
    label,
    ...start,
  });
  systems[label] = { origin: server.origin, via: server.via, proxy: server.proxyOrigin, pids: server.pids };
  console.log(
    `\n== ${label}: wrangler dev ready in ${((Date.now() - t) / 1000).toFixed(1)} s; clients → ${server.origin} (${server.via})`,
  );
  try {
    return await body(server);
  } catch (error) {
    console.log(`${kind} log tail:\n${logTail(server)}`);
    throw error;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!o) {
    console.log(USAGE);
    return;
  }
  const p = plan(o);
  const startedAt = new Date();
  const machine = machineInfo();
  const loadBefore = load();
  console.log(
    `bench: ${o.quick ? "quick" : "full"} run on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ` +
      `node ${machine.node}; load average ${loadBefore ? loadBefore["1m"] : "?"}; ` +
      `state under ${o.stateDir} (${filesystemType(o.stateDir) ?? "?"})`,
  );
  const outcomes: Outcomes = {};
  const systems: Record<string, unknown> = {};

  // The messaging scenarios share one server process; the connections scenario gets a fresh one,
  // so memory per socket is read against an idle workerd and hitting the descriptor limit there
  // cannot disturb anything else.
  const only = (...names: ScenarioName[]) => names.some((n) => o.only.has(n));
  let baselineMax: number | null = null;
  if (o.baseline && only("one-to-one", "fixed-rate", "latency-sweep")) {
    await withServer("baseline", "baseline", o, systems, async (server) => {
      const rate = (max: number | null) => o.rate ?? (max ? Math.round(max / 2) : FALLBACK_RATE);
      baselineMax = await messaging(o, outcomes, relaySystem(server, o.floor), rate);
    });
  }
  if (o.baseline && only("connections")) {
    await withServer("baseline", "baseline-connections", o, systems, (server) =>
      measure(outcomes, "connections", "baseline", () => connections(relaySystem(server), p.connections)),
    );
  }
  let serverMax: number | null = null;
  const onServer: ScenarioName[] = ["one-to-one", "one-to-one-tcp", "fixed-rate", "fixed-rate-own"];
  if (only(...onServer, "latency-sweep", "catch-up", "d1-lag")) {
    await withServer("server", "server", o, systems, async (server) => {
      const system = imSystem(server);
      const rate = () => o.rate ?? (baselineMax ? Math.round(baselineMax / 2) : FALLBACK_RATE);
      const wsMax = await messaging(o, outcomes, system, rate);
      serverMax = wsMax;
      if (only("one-to-one-tcp")) await tcpOneToOne(o, outcomes, system, wsMax);
      if (only("catch-up")) await measure(outcomes, "catch-up", "server", () => catchUp(system, p.catchUp));
      if (only("d1-lag")) await measure(outcomes, "d1-lag", "server", () => d1Lag(system, p.d1Lag));
    });
  }
  if (o.baseline && only("latency-sweep")) {
    const ownMax = baselineMax;
    await withServer("baseline", "baseline-sweep", o, systems, (server) =>
      baselineSweep(o, outcomes, server, ownMax, serverMax),
    );
  }
  if (only("connections")) {
    await withServer("server", "server-connections", o, systems, (server) =>
      measure(outcomes, "connections", "server", () => connections(imSystem(server), p.connections)),
    );
  }
  if (only("group-fanout")) {
    // The baseline relay has no groups; the figures stand against their targets alone.
    await withServer("server", "server-group", o, systems, (server) =>
      measure(outcomes, "group-fanout", "server", () =>
        groupFanout(
          imSystem(server),
          p.groupFanout,
          o.profile ? (label) => profileWindow(server, label) : undefined,
        ),
      ),
    );
  }
  if (only("chatroom")) {
    // The baseline relay has no rooms; the figures stand against issue 14's targets alone.
    // One sender at a steady rate: by default a room's per-sender limit (5/s, burst 10), so the room
    // runs with its own settings; a faster --room-rate lifts the limit like the other per-user
    // limits (lib/server.ts), to find where the fan-out itself saturates.
    const lifted =
      p.chatroom.ratePerSec <= 5
        ? []
        : ["CHATROOM_SEND_PER_SECOND", "CHATROOM_SEND_BURST"].flatMap((name) => [
            "--var",
            `${name}:${p.chatroom.ratePerSec * 2}`,
          ]);
    await withServer(
      "server",
      "server-chatroom",
      o,
      systems,
      (server) =>
        measure(outcomes, "chatroom", "server", () =>
          chatroom(
            imSystem(server),
            p.chatroom,
            o.profile ? () => profileWindow(server, "server-chatroom") : undefined,
          ),
        ),
      { extraArgs: lifted },
    );
  }
  // The same load on both, each on a fresh process: many quiet conversations (issue 20), and the
  // same counts for a few busy ones. The server runs with the usage meter (D1 and storage rows
  // written, GET /debug/usage) for the per-message counts.
  for (const pattern of ["sparse", "dense"] as const) {
    if (!only(pattern)) continue;
    if (o.baseline) {
      await withServer("baseline", `baseline-${pattern}`, o, systems, (server) =>
        measure(outcomes, pattern, "baseline", () => sparse(relaySystem(server, o.floor), p[pattern])),
      );
    }
    await withServer(
      "server",
      `server-${pattern}`,
      o,
      systems,
      (server) =>
        measure(outcomes, pattern, "server", () =>
          sparse(
            imSystem(server),
            p[pattern],
            o.profile ? () => profileWindow(server, `server-${pattern}`) : undefined,
          ),
        ),
      { extraArgs: ["--var", "USAGE_METER:true"] },
    );
  }
  // Search over a history written into the server's D1 before it starts (lib/search-corpus.ts).
  if (only("search")) {
    let corpus: Corpus | null = null;
    const prepare = async (persistDir: string) => {
      console.log(
        `\n== search: writing ${p.search.corpus.messages.toLocaleString("en-US")} messages into D1`,
      );
      corpus = await writeCorpus(persistDir, p.search.corpus);
      console.log(
        `  ${JSON.stringify(corpus.counts)} in ${corpus.seconds} s (${corpus.rowsPerSecond} rows/s)`,
      );
    };
    await withServer(
      "server",
      "server-search",
      o,
      systems,
      (server) =>
        measure(outcomes, "search", "server", () => {
          if (!corpus) throw new Error("no corpus written");
          return search(imSystem(server), corpus, p.search);
        }),
      { prepare },
    );
  }

  const rows = table(outcomes);
  const finishedAt = new Date();
  console.log(`\n${formatTable(rows)}`);
  const out = o.out ?? join(root, "bench/results/latest.json");
  mkdirSync(dirname(out), { recursive: true });
  const results = {
    schema: 1,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    mode: o.quick ? "quick" : "full",
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    machine,
    git: gitInfo(),
    load: { before: loadBefore, after: load() },
    state: { dir: o.stateDir, filesystem: filesystemType(o.stateDir) },
    plan: p,
    systems,
    table: rows,
    scenarios: outcomes,
  };
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), out)} in ${results.seconds} s total`);
  // The plot in the docs comes from the default results file; one elsewhere (--out) gets its own.
  const svg = sweepPlot(results);
  if (svg) {
    const file = o.out
      ? out.replace(/(\.json)?$/, "-latency-sweep.svg")
      : join(root, "bench/results/latency-sweep.svg");
    writeFileSync(file, svg);
    console.log(
      `wrote ${relative(process.cwd(), file)} (again: npm run bench:plot -- ${relative(process.cwd(), out)} ${relative(process.cwd(), file)})`,
    );
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping servers`);
    void stopAll().then(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(error);
    await stopAll();
    process.exit(1);
  },
);
