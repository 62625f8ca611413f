// Process-tree facts from /proc (Linux): who descends from a pid, which process group each is in,
// and which are still alive (a zombie waiting for its parent to reap it is dead: it runs nothing,
// holds no socket and no file).
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  command: string;
}

function read(pid: number): ProcessInfo | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // gone
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ")".
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    state: fields[0] ?? "?",
    command: stat.slice(stat.indexOf("(") + 1, close),
  };
}

export function allProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const info = read(Number(entry));
    if (info) out.push(info);
  }
  return out;
}

const isAlive = (p: ProcessInfo) => p.state !== "Z" && p.state !== "X";

/** The process and all its living descendants. */
export function processTree(root: number): ProcessInfo[] {
  const all = allProcesses().filter(isAlive);
  const children = new Map<number, ProcessInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!.pid) ?? []));
  return tree;
}

/** Living processes of a process group. */
export function groupMembers(pgid: number): ProcessInfo[] {
  return allProcesses().filter((p) => p.pgid === pgid && isAlive(p));
}

/** Which of these processes still run (same pid, same command: a reused pid does not count). */
export function survivors(processes: readonly ProcessInfo[]): ProcessInfo[] {
  return processes.filter((p) => {
    const now = read(p.pid);
    return now !== null && isAlive(now) && now.command === p.command;
  });
}
