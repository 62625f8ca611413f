// Linux /proc readings for the processes under test: the process tree, resident memory, CPU time,
// open descriptors and their limit, and listening TCP ports. Everything returns null or empty where
// /proc is missing (not Linux), so the harness still runs and says "unknown".
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Clock ticks per second for /proc/<pid>/stat times (getconf CLK_TCK; 100 on Linux in practice). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface StatLine {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
}

function statOf(pid: number): StatLine | null {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return null;
  // comm is in parentheses and may hold spaces; the fields after it are space-separated.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const rest = text
    .slice(close + 2)
    .trim()
    .split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return {
    pid,
    comm: text.slice(open + 1, close),
    ppid: Number(rest[1]),
    cpuSeconds: (utime + stime) / CLK_TCK,
  };
}

function allPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** Every process below `root` (not `root` itself), with its command name. */
export function descendants(root: number): { pid: number; comm: string }[] {
  const children = new Map<number, StatLine[]>();
  for (const pid of allPids()) {
    const stat = statOf(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat);
    children.set(stat.ppid, list);
  }
  const out: { pid: number; comm: string }[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      out.push({ pid: child.pid, comm: child.comm });
      queue.push(child.pid);
    }
  }
  return out;
}

export function cmdline(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? "").split("\0").join(" ").trim();
}

/** Resident set size in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(read(`/proc/${pid}/status`) ?? "");
  return match ? Number(match[1]) * 1024 : null;
}

export function cpuSeconds(pid: number): number | null {
  return statOf(pid)?.cpuSeconds ?? null;
}

export function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** The soft "Max open files" limit of a process, or null. */
export function fdLimit(pid: number): number | null {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(read(`/proc/${pid}/limits`) ?? "");
  if (!match) return null;
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}

/** TCP ports a process listens on (IPv4 and IPv6). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1] as string);
      } catch {
        // closed while we looked
      }
    }
  } catch {
    return [];
  }
  const ports = new Set<number>();
  for (const table of ["tcp", "tcp6"]) {
    const lines = (read(`/proc/${pid}/net/${table}`) ?? "").split("\n").slice(1);
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local_address rem_address st … inode (index 9); st 0A is LISTEN.
      if (cols[3] === "0A" && inodes.has(cols[9] as string)) {
        ports.add(parseInt((cols[1] as string).split(":")[1] as string, 16));
      }
    }
  }
  return [...ports];
}

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
function machineJiffies(): { busy: number; total: number } | null {
  const line = (read("/proc/stat") ?? "").split("\n")[0] ?? "";
  if (!line.startsWith("cpu ")) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal; guest is inside user
  return { busy: total - idle, total };
}

/** Load averages (1, 5, 15 min) from /proc/loadavg, or null. */
export function loadAverage(): [number, number, number] | null {
  const parts = (read("/proc/loadavg") ?? "").split(" ");
  if (parts.length < 3) return null;
  return [Number(parts[0]), Number(parts[1]), Number(parts[2])];
}

/**
 * CPU use over an interval, in cores (1.0 = one core busy the whole time): each named process,
 * this Node process (the load generator), and everything else on the machine ("other"): the
 * noise from whatever else runs there.
 */
export class CpuMeter {
  private readonly startedAt = performance.now();
  private readonly self = process.cpuUsage();
  private readonly machine = machineJiffies();
  private readonly start: Map<string, number | null>;
  private readonly pids: Record<string, number | null>;

  constructor(pids: Record<string, number | null>) {
    this.pids = pids;
    this.start = new Map(Object.entries(pids).map(([name, pid]) => [name, pid ? cpuSeconds(pid) : null]));
  }

  stop(): Record<string, number | null> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const used: Record<string, number | null> = {};
    let ours = 0;
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.start.get(name);
      const after = pid ? cpuSeconds(pid) : null;
      const cores = before != null && after != null ? (after - before) / seconds : null;
      used[name] = cores === null ? null : round2(cores);
      ours += cores ?? 0;
    }
    const self = process.cpuUsage(this.self);
    const client = (self.user + self.system) / 1e6 / seconds;
    used["client (node)"] = round2(client);
    ours += client;
    const end = machineJiffies();
    if (this.machine && end && end.total > this.machine.total) {
      const busyShare = (end.busy - this.machine.busy) / (end.total - this.machine.total);
      const machineCores = busyShare * cpuCount();
      used["all processes"] = round2(machineCores);
      used["other (not this benchmark)"] = round2(Math.max(0, machineCores - ours));
    }
    return used;
  }
}

function cpuCount(): number {
  const text = read("/proc/stat") ?? "";
  return text.split("\n").filter((l) => /^cpu\d+ /.test(l)).length || 1;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The filesystem type holding `path` (longest mount point in /proc/mounts that prefixes it). */
export function filesystemType(path: string): string | null {
  let best: { mount: string; type: string } | null = null;
  for (const line of (read("/proc/mounts") ?? "").split("\n")) {
    const [, mount, type] = line.split(" ");
    if (!mount || !type) continue;
    const prefix = mount.endsWith("/") ? mount : `${mount}/`;
    if ((path === mount || path.startsWith(prefix)) && (!best || mount.length > best.mount.length)) {
      best = { mount, type };
    }
  }
  return best?.type ?? null;
}
