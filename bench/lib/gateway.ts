// Starts the TCP gateway (src/gateway/cli.ts) beside a running server, bridged to the same origin the
// WebSocket clients use, so the TCP and WebSocket figures differ only by the gateway.
import { spawn } from "node:child_process";
import { freePort } from "../../test/node/helpers/dev-server.ts";
import { root, type RunningServer } from "./server.ts";
import { join } from "node:path";

export interface RunningGateway {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startGateway(server: RunningServer, readyTimeoutMs = 15_000): Promise<RunningGateway> {
  const port = await freePort();
  const upstream = `${server.origin.replace(/^http/, "ws")}/ws`;
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(root, "src/gateway/cli.ts"),
      ...["--upstream", upstream, "--port", String(port), "--host", "127.0.0.1"],
    ],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not listen:\n${output}`)), readyTimeoutMs);
    child.stdout.on("data", (chunk) => {
      output = (output + chunk).slice(-8_000);
      if (output.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on("data", (chunk) => (output = (output + chunk).slice(-8_000)));
    child.once("exit", () => reject(new Error(`gateway exited:\n${output}`)));
  });
  return {
    port,
    pid: child.pid as number,
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 8_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
