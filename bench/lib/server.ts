// Starts a system under test with `wrangler dev` on a free loopback port and fresh state (a temporary
// --persist-to directory), finds its processes, and stops it with its whole process group.
//
// `wrangler dev` runs two workerd processes: a proxy on the port we choose, and the runtime that
// holds the Worker and its Durable Objects on a port of its own. The proxy hop costs CPU and file
// descriptors per socket and does not exist in production, so by default the benchmark finds the
// runtime's own port (by probing /health on the ports that process listens on) and talks to it
// directly; `--via proxy` keeps the hop.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort } from "../../test/node/helpers/dev-server.ts";
import { dirname, join } from "node:path";
import { cmdline, descendants, listeningPorts } from "./proc.ts";
import { sleep } from "./stats.ts";

export const root = join(import.meta.dirname, "../..");
const wranglerBin = join(root, "node_modules/wrangler/bin/wrangler.js");

export type SystemKind = "server" | "baseline";
export type Via = "direct" | "proxy";

export interface RunningServer {
  kind: SystemKind;
  /** Where the benchmark's clients connect: the runtime's own port, or the dev proxy. */
  origin: string;
  proxyOrigin: string;
  directOrigin: string | null;
  /** wrangler's DevTools inspector for the Worker (CPU profiles). */
  inspectorOrigin: string;
  via: Via;
  persistDir: string;
  /** `gateway`: the TCP gateway the TCP scenarios start beside the server (lib/gateway.ts). */
  pids: { wrangler: number | null; proxy: number | null; runtime: number | null; gateway?: number | null };
  logFile: string;
  stop(): Promise<void>;
}

async function healthy(origin: string): Promise<boolean> {
  try {
    const response = await fetch(`${origin}/health`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200 && (await response.text()).includes("healthy");
  } catch {
    return false;
  }
}

/** The server is started the way `npm run dev` starts it; the baseline with its own config. */
function command(
  kind: SystemKind,
  port: number,
  inspectorPort: number,
  persistDir: string,
  extra: string[],
): string[] {
  const common = [
    ...extra,
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistDir,
  ];
  if (kind === "baseline") {
    return [wranglerBin, "dev", "-c", join(root, "bench/baseline/wrangler.toml"), ...common];
  }
  // bcrypt at cost 4 (as in the workers tests): registering the benchmark's accounts would
  // otherwise take ~70 ms of CPU each. Only register and login hash; no scenario measures them.
  // The per-user and per-socket rate limits are lifted (the search throttle's GuardObject call still
  // happens, its limit is just out of reach): the benchmark measures throughput, and a
  // deployment sets these to its own users' needs (wrangler.toml [vars]).
  const unlimited = [
    "SEND_RATE_PER_SECOND",
    "SEND_BURST",
    "SOCKET_REQUESTS_PER_SECOND",
    "SOCKET_REQUEST_BURST",
    "SEARCHES_PER_MINUTE",
  ];
  return [
    join(root, "scripts/dev.mjs"),
    ...common,
    "--var",
    "BCRYPT_COST:4",
    ...unlimited.flatMap((name) => ["--var", `${name}:1000000`]),
  ];
}

export interface StartOptions {
  via: Via;
  /** Unminified code, so a CPU profile names the functions (bench --profile). */
  readable?: boolean;
  /** More `wrangler dev` options (e.g. -c another config, for experiments). */
  extraArgs?: string[];
  /** Names the copy of wrangler's output kept in bench/results/ (default: the kind). */
  label?: string;
  /** Where the temporary --persist-to directory goes (default: the OS temp dir). */
  stateParent?: string | null;
  /** Runs on the fresh --persist-to directory before `wrangler dev` starts (e.g. writes its D1). */
  prepare?: (persistDir: string) => Promise<void>;
  readyTimeoutMs?: number;
}

export async function startServer(kind: SystemKind, options: StartOptions): Promise<RunningServer> {
  const {
    via,
    readable = false,
    stateParent,
    extraArgs = [],
    readyTimeoutMs = 90_000,
    label = kind,
    prepare,
  } = options;
  const port = await freePort();
  const inspectorPort = await freePort();
  // dev.mjs also starts its TCP gateway (idle here: the TCP scenarios start their own, bridged to
  // the runtime directly, lib/gateway.ts); a free port keeps it clear of 8082 and of other runs.
  const tcpPort = await freePort();
  const persistDir = mkdtempSync(join(stateParent ?? tmpdir(), `im-bench-${kind}-`));
  if (prepare) {
    try {
      await prepare(persistDir);
    } catch (error) {
      rmSync(persistDir, { recursive: true, force: true });
      throw error;
    }
  }
  const logFile = join(persistDir, "wrangler.log");
  const keptLog = join(root, `bench/results/${label}-wrangler.log`);
  mkdirSync(dirname(keptLog), { recursive: true });
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    process.execPath,
    command(kind, port, inspectorPort, persistDir, [...(readable ? ["--no-minify"] : []), ...extraArgs]),
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CI: "true",
        TCP_PORT: String(tcpPort),
        WRANGLER_SEND_METRICS: "false",
        // wrangler dev's local observability streams a trace of every invocation to a collector
        // worker in the same workerd (about a fifth of its CPU under load). It is a dev-time
        // explorer, not part of what is deployed, so both server and baseline run without it
        // unless X_LOCAL_OBSERVABILITY=true is set (docs/PERFORMANCE.md).
        X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
      },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const proxyOrigin = `http://127.0.0.1:${port}`;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.pid) {
      // The whole group: dev.mjs, wrangler and both workerd processes, which may outlive wrangler.
      const group = [child.pid, ...descendants(child.pid).map((p) => p.pid)];
      const exited = new Promise((resolve) => child.once("exit", resolve));
      signalGroup(child.pid, "SIGTERM");
      await Promise.race([child.exitCode === null ? exited : Promise.resolve(), sleep(5_000)]);
      for (let i = 0; i < 20 && group.some(isRunning); i++) await sleep(100);
      signalGroup(child.pid, "SIGKILL");
      for (let i = 0; i < 20 && group.some(isRunning); i++) await sleep(100);
    }
    if (child.pid) killOnExit.delete(child.pid);
    // Keep wrangler's output (workerd's errors land there) next to the results.
    try {
      copyFileSync(logFile, keptLog);
    } catch {
      // no log written
    }
    rmSync(persistDir, { recursive: true, force: true });
  };
  stopOnExit.add(stop);
  if (child.pid) killOnExit.set(child.pid, persistDir);

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline && child.exitCode === null && !(await healthy(proxyOrigin))) await sleep(250);
  if (child.exitCode !== null || Date.now() >= deadline) {
    const output = readLog(logFile);
    await stop();
    throw new Error(`${kind}: wrangler dev did not become healthy on ${proxyOrigin}\n${output.slice(-4000)}`);
  }

  const pids = findPids(child.pid as number, port);
  const directOrigin = pids.runtime ? await findDirectOrigin(pids.runtime) : null;
  if (via === "direct" && !directOrigin) {
    console.warn(`${kind}: could not find the runtime's own port; going through the dev proxy`);
  }
  const useDirect = via === "direct" && directOrigin !== null;
  return {
    kind,
    origin: useDirect ? directOrigin : proxyOrigin,
    proxyOrigin,
    directOrigin,
    inspectorOrigin: `http://127.0.0.1:${inspectorPort}`,
    via: useDirect ? "direct" : "proxy",
    persistDir,
    pids,
    logFile,
    stop: async () => {
      stopOnExit.delete(stop);
      await stop();
    },
  };
}

/** The wrangler Node process, and the two workerd processes told apart by their entry socket. */
function findPids(rootPid: number, port: number): RunningServer["pids"] {
  const tree = descendants(rootPid);
  const workerds = tree.filter((p) => p.comm === "workerd");
  const proxy = workerds.find((p) => cmdline(p.pid).includes(`entry=127.0.0.1:${port} `)) ?? null;
  const runtime = workerds.find((p) => p !== proxy) ?? null;
  const wrangler =
    tree.find((p) => p.comm.startsWith("node") && cmdline(p.pid).includes("cli.js dev")) ?? null;
  return { wrangler: wrangler?.pid ?? null, proxy: proxy?.pid ?? null, runtime: runtime?.pid ?? null };
}

async function findDirectOrigin(runtimePid: number): Promise<string | null> {
  for (const port of listeningPorts(runtimePid)) {
    const origin = `http://127.0.0.1:${port}`;
    if (await healthy(origin)) return origin;
  }
  return null;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** Running (not a zombie waiting for its parent). */
function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export function logTail(server: RunningServer, chars = 3000): string {
  return readLog(server.logFile).slice(-chars);
}

/** Servers still running when the harness exits (an error, Ctrl-C) are stopped too. */
const stopOnExit = new Set<() => Promise<void>>();
export async function stopAll(): Promise<void> {
  await Promise.all([...stopOnExit].map((stop) => stop()));
}

/** Last resort when the harness exits without stopping them (a crash, a closed stdout): kill the groups. */
const killOnExit = new Map<number, string>();
process.on("exit", () => {
  for (const [pid, dir] of killOnExit) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
