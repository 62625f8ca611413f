// What the bill is made of, counted where it happens: object invocations by object and kind (a
// request, a socket frame, an RPC call, an alarm, a socket closing), D1 statements and the rows they
// wrote, and the rows the objects' own SQLite wrote. Cloudflare prices Durable Objects by requests
// and duration, SQLite storage by rows written, and D1 by rows written; the sparse benchmark divides
// these counts by the messages delivered (issue 20, docs/PERFORMANCE.md).
//
// The counts live in this isolate's memory. Under `wrangler dev` every object and the worker share
// one isolate, so GET /debug/usage (only with USAGE_METER set) reads the whole system's; deployed,
// each isolate counts its own and the dashboards and Analytics Engine are the place to look.
// Invocations are always counted (an increment each); D1 and storage rows only with USAGE_METER,
// as that needs a wrapper around every statement.

import { emptyUsage, type Usage } from "./usage";

/** The objects, and "worker" for the stateless entry. */
export type MeteredObject = "worker" | "user" | "conversation" | "guard" | "history";
/**
 * How an invocation came in; "start" is an instance built (its constructor ran: the object's first
 * use, or a wake after it hibernated or was evicted), which opens its SQLite and reloads its caches.
 */
export type InvocationKind = "request" | "frame" | "rpc" | "alarm" | "close" | "start";

export type { Usage };

let usage = emptyUsage();

/** A copy of the counts so far. */
export function usageSnapshot(): Usage {
  return {
    ...usage,
    invocations: { ...usage.invocations },
    storageRowsByStatement: { ...usage.storageRowsByStatement },
  };
}

/** Starts the counts again from zero (tests). */
export function resetUsage(): void {
  usage = emptyUsage();
}

export function countInvocation(object: MeteredObject, kind: InvocationKind): void {
  countInvocationKey(`${object}.${kind}`);
}

function countInvocationKey(key: string): void {
  usage.invocations[key] = (usage.invocations[key] ?? 0) + 1;
}

/** Whether the environment asks for the row counts (USAGE_METER, read without the full settings check). */
export function usageMeterOn(env: object): boolean {
  const value = (env as { USAGE_METER?: unknown }).USAGE_METER;
  return value === true || value === "true" || value === "1";
}

type Callable<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T] &
  string;

/** The methods a stub can call on an object class: its own, not the runtime's handlers. */
export type RpcMethodOf<T> = Exclude<Callable<T>, keyof DurableObjectLike | "__DURABLE_OBJECT_BRAND">;

interface DurableObjectLike {
  fetch?(request: Request): unknown;
  alarm?(): unknown;
  webSocketMessage?(ws: WebSocket, message: string | ArrayBuffer): unknown;
  webSocketClose?(ws: WebSocket, code: number, reason: string, wasClean: boolean): unknown;
  webSocketError?(ws: WebSocket, error: unknown): unknown;
}

const HANDLER_KINDS: Record<keyof DurableObjectLike, InvocationKind> = {
  fetch: "request",
  webSocketMessage: "frame",
  webSocketClose: "close",
  webSocketError: "close",
  alarm: "alarm",
};

/**
 * Counts every invocation of an object class: its runtime handlers by kind, and each method a stub
 * may call as "rpc". `rpc` lists every public method (the type makes the list complete), each true
 * when it is an entry point, false for what only tests call; private helpers are not listed, so the
 * object's own calls to them are not counted.
 */
export function meterInvocations<T extends object>(
  cls: { prototype: T },
  object: MeteredObject,
  rpc: Record<RpcMethodOf<T>, boolean>,
): void {
  const prototype = cls.prototype as Record<string, unknown>;
  const wrap = (name: string, kind: InvocationKind) => {
    const original = prototype[name];
    if (typeof original !== "function") return;
    // Built once, not per call: every frame and RPC goes through here.
    const key = `${object}.${kind}`;
    prototype[name] = function counted(this: unknown, ...args: unknown[]) {
      countInvocationKey(key);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  };
  for (const [name, kind] of Object.entries(HANDLER_KINDS)) wrap(name, kind);
  for (const [name, entry] of Object.entries(rpc)) if (entry) wrap(name, "rpc");
}

/**
 * The object's storage, counting the rows its SQL statements write and its alarm writes when
 * USAGE_METER is on; the storage itself otherwise.
 */
export function meteredStorage(storage: DurableObjectStorage, env: object): DurableObjectStorage {
  if (!usageMeterOn(env)) return storage;
  const exec = storage.sql.exec.bind(storage.sql);
  const countedExec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) => {
    const cursor = exec<T>(query, ...bindings);
    // A write has run by the time exec returns (SQLite runs it on the first step, RETURNING rows
    // included), so its count is already known.
    if (cursor.rowsWritten > 0) {
      usage.storageWriteStatements++;
      usage.storageRowsWritten += cursor.rowsWritten;
      const key = statementKey(query);
      usage.storageRowsByStatement[key] = (usage.storageRowsByStatement[key] ?? 0) + cursor.rowsWritten;
    }
    return cursor;
  };
  const sql = forwarding(storage.sql, { exec: countedExec });
  const countAlarmWrite =
    <A extends unknown[], R>(write: (...args: A) => R) =>
    (...args: A): R => {
      usage.alarmWrites++;
      return write(...args);
    };
  return forwarding(storage, {
    sql,
    setAlarm: countAlarmWrite(storage.setAlarm.bind(storage)),
    deleteAlarm: countAlarmWrite(storage.deleteAlarm.bind(storage)),
  });
}

/** Keys by statement text: the objects run a few dozen statements, each many times. */
const statementKeys = new Map<string, string>();

/** "INSERT INTO messages", "UPDATE members SET fanout_seq": a statement's kind and table. */
function statementKey(query: string): string {
  let key = statementKeys.get(query);
  if (key === undefined) {
    key = query.replace(/\s+/g, " ").trim().split(" ").slice(0, 4).join(" ").slice(0, 60);
    // Bounded: statements built with varying text (IN lists) would otherwise grow it.
    if (statementKeys.size < 1_000) statementKeys.set(query, key);
  }
  return key;
}

/** `target` with some members replaced; its own methods bound to it (the runtime's need their `this`). */
function forwarding<T extends object>(target: T, replaced: Partial<T>): T {
  const bound = new Map<PropertyKey, unknown>(Object.entries(replaced));
  return new Proxy(target, {
    get(object, name) {
      if (bound.has(name)) return bound.get(name);
      const value: unknown = Reflect.get(object, name, object);
      if (typeof value !== "function") return value;
      const method = value.bind(object);
      bound.set(name, method);
      return method;
    },
  });
}

interface D1Outcome {
  meta?: { rows_written?: number };
}

function countD1(outcomes: readonly unknown[]): void {
  for (const outcome of outcomes) {
    usage.d1Statements++;
    usage.d1RowsWritten += (outcome as D1Outcome | null)?.meta?.rows_written ?? 0;
  }
}

/** The runtime's statement behind each metered one, for batch(), which wants the runtime's own. */
const unwrapped = new WeakMap<D1PreparedStatement, D1PreparedStatement>();

function meteredStatement(statement: D1PreparedStatement): D1PreparedStatement {
  const metered = new Proxy(statement, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      if (name === "bind") {
        return (...args: unknown[]) =>
          meteredStatement((value as D1PreparedStatement["bind"]).apply(target, args));
      }
      if (name === "run" || name === "all") {
        return async (...args: unknown[]) => {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          usage.d1Calls++;
          countD1([result]);
          return result;
        };
      }
      if (name === "first" || name === "raw") {
        // No meta comes back: a statement with no rows written (what reads use).
        return (...args: unknown[]) => {
          usage.d1Calls++;
          usage.d1Statements++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  unwrapped.set(metered, statement);
  return metered;
}

/** The D1 binding, counting statements and rows written when USAGE_METER is on. */
export function meteredD1(db: D1Database, env: object): D1Database {
  if (!usageMeterOn(env)) return db;
  return new Proxy(db, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      if (name === "prepare") {
        return (query: string) => meteredStatement(target.prepare(query));
      }
      if (name === "batch") {
        return async (list: D1PreparedStatement[]) => {
          const results = await target.batch(list.map((s) => unwrapped.get(s) ?? s));
          usage.d1Calls++;
          countD1(results);
          return results;
        };
      }
      return value.bind(target);
    },
  });
}
