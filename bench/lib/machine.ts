// The machine and the code a run measured: CPUs, memory, Node, OS, descriptor limit, load, git commit.
import { execFileSync } from "node:child_process";
import { cpus, freemem, release, totalmem, type as osType, arch } from "node:os";
import { fdLimit, loadAverage } from "./proc.ts";
import { root } from "./server.ts";

function git(...args: string[]): string | null {
  try {
    return execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

export function machineInfo() {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${osType()} ${release()} ${arch()}`,
    openFilesLimit: fdLimit(process.pid),
  };
}

export function gitInfo() {
  const status = git("status", "--porcelain");
  return {
    commit: git("rev-parse", "HEAD"),
    branch: git("rev-parse", "--abbrev-ref", "HEAD"),
    dirty: status === null ? null : status.length > 0,
  };
}

export function load() {
  const avg = loadAverage();
  return avg ? { "1m": avg[0], "5m": avg[1], "15m": avg[2] } : null;
}
