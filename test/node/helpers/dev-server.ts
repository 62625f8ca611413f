// Starts the real `npm run dev` path (scripts/dev.mjs → wrangler dev) on a free loopback port with
// fresh state in a temporary directory, and stops it with its whole process group.
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
  log: () => string;
  stop: () => Promise<void>;
}

export async function startDevServer(readyTimeoutMs = 120_000): Promise<DevServer> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "im-e2e-"));
  let output = "";
  const child: ChildProcess = spawn(
    process.execPath,
    [join(root, "scripts/dev.mjs"), "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state],
    { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true" } },
  );
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
    rmSync(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${origin}/health`);
      if (response.status === 200)
        return { origin, wsOrigin: `ws://127.0.0.1:${port}`, log: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy:\n${output}`);
}
