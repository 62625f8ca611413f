// IMClient's options: what each one means, its default, and the checks done once at construction.
import type { BackoffOptions } from "./backoff.ts";
import { MemoryStore, type IMStore } from "./store.ts";
import { defaultWebSocketFactory, type FrameHooks, type WebSocketFactory } from "./socket.ts";

export interface IMClientOptions {
  /** The HTTP origin, e.g. `https://im.example.com` (no trailing slash needed). */
  apiUrl: string;
  /** The WebSocket endpoint; default: apiUrl with ws(s):// and `/ws`. */
  wsUrl?: string;
  /** Sent in login and AUTH; one live socket per (user, platform). Default "web". */
  platform?: string;
  /** How the socket carries the token: `query` (`?token=`, default) or `subprotocol` (browsers). */
  tokenTransport?: "query" | "subprotocol";
  /** Heartbeat period and how long to wait for its answer before reconnecting. Default 30 s / 10 s. */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** How long to wait for the socket to open and for AUTH_RSP. Default 10 s. */
  authTimeoutMs?: number;
  /** How long to wait for a sync or other request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Per HTTP call. Default 30 s. */
  httpTimeoutMs?: number;
  /** Reconnect delays: full jitter over base·2^n, capped at max. Default 1 s and 30 s. */
  reconnect?: Partial<BackoffOptions>;
  /** How long a send waits for its ack before going out again. Default 5 s. */
  ackTimeoutMs?: number;
  /** Resends after the first attempt (on ack timeout or reconnect). Default 3. */
  maxResends?: number;
  /** Messages per conversation per sync page (BATCH_SYNC and SYNC_RANGE), 1–500. Default 100. */
  syncPageSize?: number;
  /** Cursor and message store, or a factory called with the user id. Default: a MemoryStore per user. */
  store?: IMStore | ((userId: string) => IMStore);
  /** Makes the WebSocket. Default: the standard global WebSocket. */
  createWebSocket?: WebSocketFactory;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Testing and diagnostics only: observe or drop frames. */
  hooks?: FrameHooks;
}

export interface ResolvedOptions {
  apiUrl: string;
  wsUrl: string;
  platform: string;
  tokenTransport: "query" | "subprotocol";
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  authTimeoutMs: number;
  requestTimeoutMs: number;
  httpTimeoutMs: number;
  reconnect: BackoffOptions;
  ackTimeoutMs: number;
  maxResends: number;
  syncPageSize: number;
  store: (userId: string) => IMStore;
  createWebSocket: WebSocketFactory;
  fetch: typeof fetch;
  hooks: FrameHooks;
}

/** The server's largest sync page (PROTOCOL.md, "Batch sync"). */
export const MAX_SYNC_PAGE = 500;

/** `http://host/base` → `ws://host/base/ws`. */
export function defaultWsUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/ws`;
  return url.toString();
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}

export function resolveOptions(o: IMClientOptions): ResolvedOptions {
  const apiUrl = o.apiUrl.replace(/\/+$/, "");
  const store = o.store;
  const maxResends = o.maxResends ?? 3;
  if (!Number.isInteger(maxResends) || maxResends < 0)
    throw new RangeError("maxResends must be an integer ≥ 0");
  const syncPageSize = positive("syncPageSize", o.syncPageSize, 100);
  if (syncPageSize > MAX_SYNC_PAGE) throw new RangeError(`syncPageSize must be at most ${MAX_SYNC_PAGE}`);
  const baseMs = positive("reconnect.baseMs", o.reconnect?.baseMs, 1_000);
  return {
    apiUrl,
    wsUrl: o.wsUrl ?? defaultWsUrl(apiUrl),
    platform: o.platform ?? "web",
    tokenTransport: o.tokenTransport ?? "query",
    heartbeatIntervalMs: positive("heartbeatIntervalMs", o.heartbeatIntervalMs, 30_000),
    heartbeatTimeoutMs: positive("heartbeatTimeoutMs", o.heartbeatTimeoutMs, 10_000),
    authTimeoutMs: positive("authTimeoutMs", o.authTimeoutMs, 10_000),
    requestTimeoutMs: positive("requestTimeoutMs", o.requestTimeoutMs, 30_000),
    httpTimeoutMs: positive("httpTimeoutMs", o.httpTimeoutMs, 30_000),
    reconnect: { baseMs, maxMs: positive("reconnect.maxMs", o.reconnect?.maxMs, Math.max(30_000, baseMs)) },
    ackTimeoutMs: positive("ackTimeoutMs", o.ackTimeoutMs, 5_000),
    maxResends,
    syncPageSize,
    store: typeof store === "function" ? store : store ? () => store : () => new MemoryStore(),
    createWebSocket: o.createWebSocket ?? defaultWebSocketFactory,
    // Wrapped: a browser's fetch called as a method of another object throws "Illegal invocation".
    fetch: o.fetch ?? ((input, init) => fetch(input, init)),
    hooks: o.hooks ?? {},
  };
}
