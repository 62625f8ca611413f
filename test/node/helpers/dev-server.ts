// Starts the real `npm run dev` path (scripts/dev.mjs → wrangler dev) on a loopback port and stops it
// with its whole process group. By default: a free port and fresh state in a temporary directory
// that `stop` deletes. A caller may instead pass its own port and persist directory (kept on stop),
// e.g. to kill the runtime and start it again on the same state.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../../..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface DevServer {
  origin: string;
  wsOrigin: string;
  port: number;
  /** The TCP gateway's port (TCP_PORT), on 127.0.0.1. */
  tcpPort: number;
  /** The state directory (`--persist-to`). */
  persistTo: string;
  /** The pid of scripts/dev.mjs, which leads the process group of wrangler and its workerd children. */
  pid: number;
  /** Settles when scripts/dev.mjs has exited. */
  exited: Promise<void>;
  log: () => string;
  stop: () => Promise<void>;
}

export interface DevServerOptions {
  readyTimeoutMs?: number;
  /** Listen on this port instead of a free one. */
  port?: number;
  /** Use (and keep) this state directory instead of a temporary one deleted on stop. */
  persistTo?: string;
  /** Extra `[vars]` for this run (`wrangler dev --var NAME:VALUE`). */
  vars?: Record<string, string>;
  /** The TCP gateway's port instead of a free one. */
  tcpPort?: number;
  /** The gateway's --slow-reader-ms (GATEWAY_SLOW_READER_MS), instead of its default. */
  gatewaySlowReaderMs?: number;
}

export async function startDevServer(options: number | DevServerOptions = {}): Promise<DevServer> {
  const opts = typeof options === "number" ? { readyTimeoutMs: options } : options;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const port = opts.port ?? (await freePort());
  const tcpPort = opts.tcpPort ?? (await freePort());
  const ownState = opts.persistTo === undefined;
  const state = opts.persistTo ?? mkdtempSync(join(tmpdir(), "im-e2e-"));
  const varArgs = Object.entries(opts.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  let output = "";
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, "scripts/dev.mjs"),
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      ...varArgs,
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CI: "true",
        TCP_PORT: String(tcpPort),
        ...(opts.gatewaySlowReaderMs ? { GATEWAY_SLOW_READER_MS: String(opts.gatewaySlowReaderMs) } : {}),
      },
    },
  );
  if (child.pid === undefined) throw new Error("could not start scripts/dev.mjs");
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const origin = `http://127.0.0.1:${port}`;
  /** False when no process of the group is left to signal. */
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async () => {
    if (signalGroup("SIGTERM")) {
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      // Whatever of the group outlived a graceful stop (or a dead leader) goes now.
      signalGroup("SIGKILL");
    }
    if (ownState) rmSync(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const response = await fetch(`${origin}/health`);
      if (response.status === 200)
        return {
          origin,
          wsOrigin: `ws://127.0.0.1:${port}`,
          port,
          tcpPort,
          persistTo: state,
          pid,
          exited,
          log: () => output,
          stop,
        };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy:\n${output}`);
}
