// Test harness for the client SDK against a real `wrangler dev`: accounts, clients that record
// what they emit, frame observers, and event-driven waits (no sleeps).
import { afterAll, beforeAll, expect } from "vitest";
import {
  IMClient,
  type Frame,
  type IMClientOptions,
  type IMEvents,
  type Message,
  type Session,
  type TypedEmitter,
} from "edge-im/client";
import { im } from "../../../src/protocol/generated/im.js";
import { startDevServer, type DevServer } from "./dev-server";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;

let counter = 0;

/** Everything one client emitted, in order. */
export interface Recorded {
  client: IMClient;
  userId: string;
  timeline: Message[];
  batches: Message[][];
  events: { [K in keyof IMEvents]?: IMEvents[K][] };
  /** Frames the client sent, decoded envelope only. */
  sent: Frame[];
  /** Every open socket the client made, in order. */
  sockets: WebSocket[];
}

/** Fast reconnects so tests do not wait for the production backoff. */
export const FAST: Partial<IMClientOptions> = { reconnect: { baseMs: 50, maxMs: 400 } };

/**
 * A client that records its events (not yet connected): for a fresh user it registers and logs
 * in, or it adopts `session` (another device of that user, or the same one restarted).
 */
export async function account(
  server: DevServer,
  name: string,
  options: Partial<IMClientOptions> = {},
  session?: Session,
): Promise<Recorded> {
  const sent: Frame[] = [];
  const sockets: WebSocket[] = [];
  const client = new IMClient({
    apiUrl: server.origin,
    ...FAST,
    ...options,
    createWebSocket:
      options.createWebSocket ??
      ((url, protocols) => {
        const ws = new WebSocket(url, protocols);
        sockets.push(ws);
        return ws;
      }),
    hooks: {
      ...options.hooks,
      outbound: (frame) => {
        sent.push(frame);
        options.hooks?.outbound?.(frame);
      },
    },
  });
  if (session) client.useSession(session);
  else {
    const username = `${name}${Date.now().toString(36)}${(counter++).toString(36)}`;
    await client.register({ username, password: "sdk-test-password" });
    await client.login({ username, password: "sdk-test-password" });
  }
  const recorded: Recorded = {
    client,
    userId: client.userId ?? "",
    timeline: [],
    batches: [],
    events: {},
    sent,
    sockets,
  };
  const record = <K extends keyof IMEvents>(event: K) => {
    const list: IMEvents[K][] = [];
    recorded.events[event] = list as Recorded["events"][K];
    client.on(event, (payload) => list.push(payload));
  };
  for (const event of ["connected", "disconnected", "reconnecting", "synced", "error", "kicked"] as const)
    record(event);
  client.on("message", (m) => recorded.timeline.push(m));
  client.on("messages", (b) => recorded.batches.push(b.messages));
  return recorded;
}

/**
 * Resolves once `condition()` holds, checking now and after every `event` of `source` (the client,
 * a chatroom); fails with `what` after `timeoutMs`. Waiting is driven by events, never by a sleep.
 */
export function untilEvent<E extends object, K extends keyof E>(
  source: TypedEmitter<E>,
  event: K,
  condition: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const off = source.on(event, () => {
      if (!condition()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** `untilEvent` on a recorded client. */
export function until<K extends keyof IMEvents>(
  r: Recorded,
  event: K,
  condition: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  return untilEvent<IMEvents, K>(r.client, event, condition, what, timeoutMs);
}

/** Waits until the client's timeline has at least `n` messages of `conversationId`. */
export function untilMessages(
  r: Recorded,
  conversationId: string,
  n: number,
  timeoutMs?: number,
): Promise<void> {
  const count = () => r.timeline.filter((m) => m.conversationId === conversationId).length;
  return until(
    r,
    "message",
    () => count() >= n,
    `${n} messages in ${conversationId} (have ${count()})`,
    timeoutMs,
  );
}

/** The messages of a push frame (PUSH_MSG or BATCH_MSG); empty for any other frame. */
export function pushedSeqs(frame: Frame): number[] {
  if (frame.command === Cmd.CMD_PUSH_MSG)
    return [Number(pb.PushMessage.decode(frame.body).message?.seq ?? 0)];
  if (frame.command === Cmd.CMD_BATCH_MSG)
    return pb.BatchMessages.decode(frame.body).messages.map((p) => Number(p.message?.seq ?? 0));
  return [];
}

/** Asserts `messages` are exactly seqs 1..n of one conversation, once each, in order. */
export function expectExactlyOnceInOrder(messages: Message[], conversationId: string, n: number): void {
  const mine = messages.filter((m) => m.conversationId === conversationId);
  expect(mine.map((m) => m.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(new Set(mine.map((m) => m.serverMsgId)).size).toBe(n);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * One `wrangler dev` for a test file, started before its tests and stopped after them, and
 * `connected(name)`: a registered, connected client that is disconnected with the server.
 */
export function sharedServer() {
  const open: Recorded[] = [];
  const shared = {
    server: undefined as unknown as DevServer,
    open,
    async connected(name: string, options?: Parameters<typeof account>[2]): Promise<Recorded> {
      const r = await account(shared.server, name, options);
      open.push(r);
      await r.client.connect();
      return r;
    },
  };
  beforeAll(async () => {
    shared.server = await startDevServer();
  });
  afterAll(async () => {
    for (const r of open) r.client.disconnect();
    await shared.server?.stop();
  });
  return shared;
}
