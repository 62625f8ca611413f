// Crash consistency against the real runtime (issue 7, point 1; issue 12, item 1: an answer lost
// after its commit, then a resend, while each user's second device must end with every message).
// `wrangler dev` runs on a state
// directory that outlives it; four users keep messaging in three one-to-one conversations and a
// group, several sends in flight per stream, while the whole process group (scripts/dev.mjs,
// wrangler, workerd) is killed with SIGKILL mid-stream, several times. After each kill the runtime
// starts again on the same state and port, the clients reconnect, find out which of their unacked
// messages the server had stored (each must be there at most once), and resend all of them with
// the same client_msg_id. At the end everything is synced and checked against what the clients saw:
// every acked message present exactly once under the seq it was acked with, seqs gapless from 1,
// causal order kept, every user's inbox and unread counts equal to a model, and D1 holding exactly
// the same history once the flush alarms have run.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { freePort, startDevServer, type DevServer } from "../node/helpers/dev-server";
import { ChaosClient, Err, type MessageInfo } from "./chaos-client";
import { groupMembers, processTree, survivors } from "./processes";

const root = join(import.meta.dirname, "../..");
const run = promisify(execFile);

/** How many times the runtime is killed. */
const KILLS = 3;
/** Sends each stream keeps in flight (the SDK pipelines too: it does not wait for one ack to send). */
const WINDOW = 3;
/**
 * Kill k comes once this many sends were acked since the last restart (then a random 0–1.5 s more),
 * or after PHASE_MAX_MS. The short middle phase kills the runtime while it is still recovering from
 * the kill before (alarms due, fan-outs resuming, first sends re-arming alarms).
 */
const ACKS_BEFORE_KILL = [800, 15, 800];
const PHASE_MAX_MS = 30_000;
/** No stream sends more than this in the whole test. */
const MAX_PER_STREAM = 1_500;
/** Bounds for the final convergence checks. */
const CONVERGE_MS = 90_000;

const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
let rng = seed;
/** mulberry32: a seeded PRNG, so a failing run can be replayed with CHAOS_SEED. */
function random(): number {
  rng = (rng + 0x6d2b79f5) | 0;
  let t = Math.imul(rng ^ (rng >>> 15), 1 | rng);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the runtime ----

const persistTo = mkdtempSync(join(tmpdir(), "im-chaos-"));
const vars = {
  // One secret for every start: tokens issued before a kill stay valid after it.
  JWT_SECRET: randomBytes(32).toString("hex"),
  BCRYPT_COST: "4",
  // The streams send as fast as acks come back; the rate limit has its own tests.
  SEND_RATE_PER_SECOND: "100000",
  SEND_BURST: "100000",
};
let port = 0;
let server: DevServer | null = null;
const clients = new Map<string, ChaosClient>();
/**
 * Each user's second device, as the iOS SDK behaves: it acks every push, syncs with BATCH_SYNC from
 * the max_seq it stored and ignores has_more. It never sends, so everything it holds came to it.
 */
const desks = new Map<string, ChaosClient>();
/** The max_seq each desk stored from its BATCH_SYNC answers, as the SDK's sync config does. */
const deskCursors = new Map<string, Map<string, number>>();

afterAll(async () => {
  for (const client of [...clients.values(), ...desks.values()]) client.close();
  await server?.stop();
  if (!process.env.CHAOS_KEEP_STATE) rmSync(persistTo, { recursive: true, force: true });
});

async function start(): Promise<DevServer> {
  server = await startDevServer({ port, persistTo, vars, readyTimeoutMs: 150_000 });
  return server;
}

/** SIGKILL to the whole process group; returns how many processes died. Fails if any survives. */
async function crash(dev: DevServer): Promise<number> {
  const tree = processTree(dev.pid);
  const group = groupMembers(dev.pid);
  // The group holds the whole tree (nothing started its own session), so one kill reaches all.
  expect(tree.filter((p) => p.pgid !== dev.pid)).toEqual([]);
  expect(tree.some((p) => p.command === "workerd")).toBe(true);
  process.kill(-dev.pid, "SIGKILL");
  const deadline = Date.now() + 15_000;
  let left = [...survivors(tree), ...groupMembers(dev.pid)];
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = [...survivors(tree), ...groupMembers(dev.pid)];
  }
  expect(left, "processes that survived SIGKILL").toEqual([]);
  await Promise.race([dev.exited, sleep(5_000)]);
  return new Set([...tree, ...group].map((p) => p.pid)).size;
}

// ---- HTTP ----

async function api<T>(path: string, token?: string, body?: unknown): Promise<{ code: number; data: T }> {
  if (!server) throw new Error("no server");
  const response = await fetch(`${server.origin}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await response.json()) as { code: number; message: string; data: T };
  if (json.code !== 0) throw new Error(`${path}: ${response.status} ${json.message}`);
  return json;
}

interface User {
  name: string;
  userId: string;
  token: string;
}

async function account(name: string): Promise<User> {
  const username = `chaos${name}${Date.now().toString(36)}`;
  const password = "chaos-password";
  await api("/api/auth/register", undefined, { username, password, nickname: name });
  const login = await api<{ token: string; userID: string }>("/api/auth/login", undefined, {
    username,
    password,
    platform: "iOS",
  });
  return { name, userId: login.data.userID, token: login.data.token };
}

// ---- what the clients did ----

interface Sent {
  clientMsgId: string;
  conversationId: string;
  senderId: string;
  receiverId: string;
  text: string;
  firstSentAt: number;
  attempts: number;
  ack: { seq: number; serverMsgId: string; at: number } | null;
}

interface Stream {
  label: string;
  sender: User;
  conversationId: string;
  receiverId: string;
  count: number;
}

const sent: Sent[] = [];
const refusals: string[] = [];
const figures = {
  kills: 0,
  processesKilled: 0,
  inFlightAtKill: 0,
  unackedAtKill: 0,
  storedBeforeCrash: 0,
  absentAfterCrash: 0,
  resent: 0,
  /** Messages a desk was given again (the push or sync of one it already held). */
  deskRedeliveries: 0,
  phases: [] as string[],
};

function info(m: Sent): MessageInfo {
  return {
    clientMsgId: m.clientMsgId,
    conversationId: m.conversationId,
    senderId: m.senderId,
    receiverId: m.receiverId,
    messageType: 1,
    content: new TextEncoder().encode(m.text),
    sendTime: m.firstSentAt,
  };
}

/** One send (or resend) of `m`; records the ack. A lost socket leaves the message unacked. */
async function attempt(client: ChaosClient, m: Sent, phase?: { acks: number }): Promise<boolean> {
  m.attempts++;
  try {
    const response = await client.send(info(m));
    if ((response.errorCode ?? 0) !== Err.ERR_SUCCESS) {
      refusals.push(`${m.clientMsgId}: ${response.errorCode} ${response.errorMsg}`);
      return false;
    }
    const ack = { seq: Number(response.seq), serverMsgId: response.serverMsgId ?? "", at: Date.now() };
    if (m.ack && (m.ack.seq !== ack.seq || m.ack.serverMsgId !== ack.serverMsgId)) {
      refusals.push(`${m.clientMsgId} acked twice differently: ${m.ack.seq} then ${ack.seq}`);
    }
    m.ack ??= ack;
    if (phase) phase.acks++;
    return true;
  } catch {
    return false; // the runtime died (or the socket did) before the ack
  }
}

/** A stream keeps WINDOW sends in flight until the phase stops or its socket dies. */
async function runStream(stream: Stream, phase: { stopping: boolean; acks: number }): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (;;) {
    while (inFlight.size >= WINDOW) await Promise.race(inFlight);
    const client = clients.get(stream.sender.userId);
    if (phase.stopping || !client?.open || stream.count >= MAX_PER_STREAM) break;
    stream.count++;
    const m: Sent = {
      clientMsgId: crypto.randomUUID(),
      conversationId: stream.conversationId,
      senderId: stream.sender.userId,
      receiverId: stream.receiverId,
      text: `${stream.label} #${stream.count}`,
      firstSentAt: Date.now(),
      attempts: 0,
      ack: null,
    };
    sent.push(m);
    const p: Promise<unknown> = attempt(client, m, phase).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.allSettled(inFlight);
}

async function connectAll(users: User[]): Promise<void> {
  if (!server) throw new Error("no server");
  for (const user of users) {
    clients.get(user.userId)?.close();
    let lastError: unknown;
    for (let i = 0; i < 10; i++) {
      try {
        clients.set(user.userId, await ChaosClient.connect(server.wsOrigin, user.userId, user.token));
        lastError = null;
        break;
      } catch (error) {
        lastError = error;
        await sleep(500);
      }
    }
    if (lastError) throw lastError;
  }
}

/** (Re)connects every user's desk and syncs it as the SDK does after each authentication. */
async function connectDesks(users: User[]): Promise<void> {
  if (!server) throw new Error("no server");
  for (const user of users) {
    const old = desks.get(user.userId);
    if (old) {
      figures.deskRedeliveries += old.duplicatePushes;
      old.close();
    }
    let desk: ChaosClient | null = null;
    for (let i = 0; i < 10 && !desk; i++) {
      try {
        desk = await ChaosClient.connect(server.wsOrigin, user.userId, user.token, 15_000, "macOS");
      } catch {
        await sleep(500);
      }
    }
    if (!desk) throw new Error(`${user.name}'s desk cannot connect`);
    desk.acksPushes = true;
    // What it held before the reconnect is its store: it carries over.
    for (const [conversationId, seqs] of old?.held ?? []) desk.held.set(conversationId, new Map(seqs));
    const cursors = deskCursors.get(user.userId) ?? new Map<string, number>();
    deskCursors.set(user.userId, cursors);
    const answer = await desk.batchSync(
      [...cursors].map(([conversationId, lastSeq]) => ({ conversationId, lastSeq })),
      100,
      false,
    );
    expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    for (const entry of answer.conversationMessages) {
      for (const m of entry.messages ?? []) {
        if (desk.held.get(entry.conversationId ?? "")?.has(Number(m.seq))) figures.deskRedeliveries++;
      }
      desk.hold(entry.messages ?? []);
      cursors.set(entry.conversationId ?? "", Number(entry.maxSeq));
    }
    desks.set(user.userId, desk);
  }
}

/** The whole conversation, as the conversation's object holds it (SYNC_RANGE pages from seq 1). */
async function readAll(client: ChaosClient, conversationId: string): Promise<MessageInfo[]> {
  const out: MessageInfo[] = [];
  let start = 1;
  for (let page = 0; page < 1_000; page++) {
    const response = await client.syncRange(conversationId, start, 0, 500);
    expect(response.errorCode ?? 0, response.errorMsg ?? "").toBe(Err.ERR_SUCCESS);
    out.push(...response.messages);
    if (!response.hasMore) return out;
    start = Number(response.endSeq) + 1;
  }
  throw new Error(`${conversationId}: SYNC_RANGE never ended`);
}

// ---- D1, read the way an operator would: wrangler d1 execute on the same local state ----

/** The history shards wrangler.toml lists (HISTORY_SHARDS): each holds some conversations' history. */
const HISTORY_SHARDS = ["DB", "HISTORY_1"];

/** The command's rows on every history shard, one after the other. */
async function history<T>(command: string): Promise<T[]> {
  const rows: T[] = [];
  for (const shard of HISTORY_SHARDS) rows.push(...(await d1<T>(command, shard)));
  return rows;
}

async function d1<T>(command: string, binding = "DB"): Promise<T[]> {
  const { stdout } = await run(
    process.execPath,
    [
      join(root, "node_modules/wrangler/bin/wrangler.js"),
      "d1",
      "execute",
      binding,
      "--local",
      "--persist-to",
      persistTo,
      "--json",
      "--command",
      command,
    ],
    {
      cwd: root,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
    },
  );
  const parsed = JSON.parse(stdout) as { results: T[] }[];
  return parsed.flatMap((r) => r.results);
}

it(
  "loses and duplicates nothing acked across repeated SIGKILLs of the runtime",
  { timeout: 600_000 },
  async () => {
    const startedAt = Date.now();
    port = await freePort();
    await start();

    const [ann, ben, cat, dan] = [
      await account("ann"),
      await account("ben"),
      await account("cat"),
      await account("dan"),
    ] as [User, User, User, User];
    const users = [ann, ben, cat, dan];
    const single = (a: User, b: User) =>
      a.userId < b.userId ? `single_${a.userId}_${b.userId}` : `single_${b.userId}_${a.userId}`;
    const group = await api<{ groupID: string }>("/api/group/create", ann.token, {
      groupName: "chaos",
      faceURL: "",
      introduction: "",
      memberUserIDs: [ben.userId, cat.userId, dan.userId],
    });
    const groupConversation = `group_${group.data.groupID}`;
    const members = new Map<string, User[]>([
      [single(ann, ben), [ann, ben]],
      [single(cat, dan), [cat, dan]],
      [single(ben, cat), [ben, cat]],
      [groupConversation, users],
    ]);
    const conversations = [...members.keys()];
    const stream = (label: string, sender: User, to: User | null): Stream => ({
      label,
      sender,
      conversationId: to ? single(sender, to) : groupConversation,
      receiverId: to?.userId ?? "",
      count: 0,
    });
    const streams = [
      stream("ann>ben", ann, ben),
      stream("ben>ann", ben, ann),
      stream("cat>dan", cat, dan),
      stream("dan>cat", dan, cat),
      stream("ben>cat", ben, cat),
      stream("ann>group", ann, null),
      stream("dan>group", dan, null),
    ];
    /** Read marks over HTTP (POST /api/conversations/:id/read), made between phases: [user, conversation]. */
    const readPlan: [User, string][][] = [
      [[ben, single(ann, ben)]],
      [
        [cat, groupConversation],
        [dan, single(cat, dan)],
      ],
      [[ann, groupConversation]],
    ];
    const readMarks = new Map<string, number>(); // `${userId} ${conversationId}` → read seq
    const markRead = async (user: User, conversationId: string) => {
      const response = await api<{ readSeq: number; unreadCount: number }>(
        `/api/conversations/${conversationId}/read`,
        user.token,
        {},
      );
      const key = `${user.userId} ${conversationId}`;
      readMarks.set(key, Math.max(readMarks.get(key) ?? 0, response.data.readSeq));
      expect(response.data.unreadCount).toBe(0);
    };

    await connectAll(users);
    await connectDesks(users);

    for (let kill = 1; kill <= KILLS; kill++) {
      // Stream until enough was acked in this phase, then kill at a random moment mid-stream.
      const phase = { stopping: false, acks: 0 };
      const phaseStart = Date.now();
      const running = streams.map((s) => runStream(s, phase));
      const phaseDeadline = Date.now() + PHASE_MAX_MS;
      const wanted = ACKS_BEFORE_KILL[kill - 1] ?? 100;
      while (phase.acks < wanted && Date.now() < phaseDeadline) await sleep(20);
      await sleep(Math.floor(random() * 1_500));
      const dev = server!;
      figures.inFlightAtKill += [...clients.values()].reduce((n, c) => n + c.inFlight, 0);
      const killing = crash(dev);
      phase.stopping = true;
      figures.processesKilled += await killing;
      figures.kills++;
      await Promise.all(running);
      figures.phases.push(`${phase.acks} acks in ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`);
      expect(phase.acks, `acks in phase ${kill}`).toBeGreaterThan(0);

      // Same state, same port, new process; the clients reconnect.
      await start();
      await connectAll(users);
      await connectDesks(users);

      // Each unacked message is either absent or present exactly once; then it is resent with
      // the same client_msg_id and must come back with the stored seq when it was there.
      const unacked = sent.filter((m) => m.ack === null);
      figures.unackedAtKill += unacked.length;
      const present = new Map<string, MessageInfo>();
      for (const conversationId of new Set(unacked.map((m) => m.conversationId))) {
        const reader = clients.get(members.get(conversationId)![0]!.userId)!;
        const all = await readAll(reader, conversationId);
        for (const m of unacked.filter((u) => u.conversationId === conversationId)) {
          const copies = all.filter((x) => x.senderId === m.senderId && x.clientMsgId === m.clientMsgId);
          expect(copies.length, `copies of unacked ${m.clientMsgId}`).toBeLessThanOrEqual(1);
          if (copies[0]) present.set(m.clientMsgId, copies[0]);
        }
      }
      figures.storedBeforeCrash += present.size;
      figures.absentAfterCrash += unacked.length - present.size;
      for (const m of unacked) {
        const ok = await attempt(clients.get(m.senderId)!, m);
        expect(ok, `resend of ${m.clientMsgId}: ${refusals.at(-1) ?? ""}`).toBe(true);
        figures.resent++;
        const stored = present.get(m.clientMsgId);
        if (stored) {
          expect(m.ack).toMatchObject({ seq: Number(stored.seq), serverMsgId: stored.serverMsgId });
        }
      }
      for (const [user, conversationId] of readPlan[kill - 1] ?? []) await markRead(user, conversationId);
    }
    // No streaming after the last restart: whatever the last kill interrupted (fan-out, the D1
    // flush) must finish by itself, without new messages to push it along.

    // ---- the truth: each conversation as its object holds it ----
    const truth = new Map<string, MessageInfo[]>();
    for (const conversationId of conversations) {
      const reader = clients.get(members.get(conversationId)![0]!.userId)!;
      truth.set(conversationId, await readAll(reader, conversationId));
    }
    const maxSeq = (c: string) => truth.get(c)!.length;

    // Gapless from 1, no duplicates, nothing unknown.
    const byClientId = new Map(sent.map((m) => [`${m.senderId} ${m.clientMsgId}`, m]));
    let duplicates = 0;
    let unknown = 0;
    for (const [conversationId, messages] of truth) {
      expect(
        messages.map((m) => Number(m.seq)),
        `${conversationId} seqs`,
      ).toEqual(Array.from({ length: messages.length }, (_, i) => i + 1));
      const seen = new Set<string>();
      for (const m of messages) {
        const key = `${m.senderId} ${m.clientMsgId}`;
        if (seen.has(key)) duplicates++;
        seen.add(key);
        // The only messages no client sent: the group's creation notice.
        if (!byClientId.has(key) && !(m.messageType === 8 && conversationId === groupConversation)) unknown++;
      }
      expect(new Set(messages.map((m) => m.serverMsgId)).size).toBe(messages.length);
    }

    // Every acked message exactly once, under its acked seq and id, with its content.
    let lost = 0;
    let moved = 0;
    for (const m of sent) {
      const messages = truth.get(m.conversationId)!;
      const copies = messages.filter((x) => x.senderId === m.senderId && x.clientMsgId === m.clientMsgId);
      if (copies.length === 0) {
        lost++;
        continue;
      }
      const copy = copies[0]!;
      if (
        !m.ack ||
        Number(copy.seq) !== m.ack.seq ||
        copy.serverMsgId !== m.ack.serverMsgId ||
        new TextDecoder().decode(copy.content ?? new Uint8Array()) !== m.text
      )
        moved++;
    }

    // Causal order: a message first sent after another's ack has a higher seq.
    let reordered = 0;
    for (const conversationId of conversations) {
      const mine = sent.filter((m) => m.conversationId === conversationId && m.ack);
      const byAck = [...mine].sort((a, b) => a.ack!.at - b.ack!.at);
      const bySend = [...mine].sort((a, b) => a.firstSentAt - b.firstSentAt);
      let i = 0;
      let highest = 0;
      for (const m of bySend) {
        while (i < byAck.length && byAck[i]!.ack!.at < m.firstSentAt)
          highest = Math.max(highest, byAck[i++]!.ack!.seq);
        if (m.ack!.seq <= highest) reordered++;
      }
    }

    // ---- every user's view: inbox (fan-out caught up), BATCH_SYNC, unread counts ----
    type ConversationJson = { conversationID: string; maxSeq: number; readSeq: number; unreadCount: number };
    const listOf = async (user: User) =>
      (await api<{ conversations: ConversationJson[] }>("/api/conversations?limit=100", user.token)).data
        .conversations;
    const expectedUnread = (user: User, conversationId: string) => {
      const own = truth
        .get(conversationId)!
        .filter((m) => m.senderId === user.userId)
        .reduce((max, m) => Math.max(max, Number(m.seq)), 0);
      const read = Math.max(own, readMarks.get(`${user.userId} ${conversationId}`) ?? 0);
      return Math.max(0, maxSeq(conversationId) - read);
    };
    const inboxMismatches = async () => {
      const problems: string[] = [];
      for (const user of users) {
        const list = new Map((await listOf(user)).map((c) => [c.conversationID, c]));
        for (const [conversationId, who] of members) {
          if (!who.includes(user)) continue;
          const entry = list.get(conversationId);
          const want = { maxSeq: maxSeq(conversationId), unreadCount: expectedUnread(user, conversationId) };
          if (!entry || entry.maxSeq !== want.maxSeq || entry.unreadCount !== want.unreadCount)
            problems.push(
              `${user.name} ${conversationId}: got ${JSON.stringify(entry && { maxSeq: entry.maxSeq, unreadCount: entry.unreadCount })}, want ${JSON.stringify(want)}`,
            );
        }
      }
      return problems;
    };
    let inboxProblems = await inboxMismatches();
    for (const deadline = Date.now() + CONVERGE_MS; inboxProblems.length > 0 && Date.now() < deadline;) {
      await sleep(1_000);
      inboxProblems = await inboxMismatches();
    }
    expect(inboxProblems, "inboxes (max_seq and unread) against the model").toEqual([]);

    // ---- every desk: a device that only received, SDK-style, ends with every message ----
    // A last reconnect, as after a night offline; then what the desks hold must become the truth,
    // from pushes and BATCH_SYNC alone (no explicit gap fill).
    await connectDesks(users);
    const deskProblems = () => {
      const problems: string[] = [];
      for (const user of users) {
        const desk = desks.get(user.userId)!;
        for (const [conversationId, who] of members) {
          if (!who.includes(user)) continue;
          const held = desk.held.get(conversationId) ?? new Map<number, string>();
          const missing = truth.get(conversationId)!.filter((m) => held.get(Number(m.seq)) !== m.serverMsgId);
          if (missing.length > 0)
            problems.push(
              `${user.name}'s desk lacks ${missing.length} of ${conversationId} (first seq ${missing[0]!.seq})`,
            );
          const extra = [...held.keys()].filter((seq) => seq > maxSeq(conversationId));
          if (extra.length > 0)
            problems.push(`${user.name}'s desk holds unknown seqs ${extra.join(",")} of ${conversationId}`);
        }
      }
      return problems;
    };
    let desksMissing = deskProblems();
    for (const deadline = Date.now() + CONVERGE_MS; desksMissing.length > 0 && Date.now() < deadline;) {
      await sleep(500);
      desksMissing = deskProblems();
    }
    expect(desksMissing, "every desk holds every message").toEqual([]);

    // A last read mark: that conversation's unread drops to 0, the others stay as they were.
    await markRead(ben, groupConversation);
    expect(await inboxMismatches()).toEqual([]);

    let batchSynced = 0;
    for (const user of users) {
      const client = clients.get(user.userId)!;
      const mine = conversations.filter((c) => members.get(c)!.includes(user));
      // A new device: an empty state list must still name every conversation the user is in.
      const discovery = await client.batchSync([]);
      expect(discovery.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
      const listed = new Map(discovery.conversationMessages.map((c) => [c.conversationId, c]));
      for (const c of mine) expect(listed.get(c)?.maxSeq, `${user.name} discovers ${c}`).toBe(maxSeq(c));
      // Then the SDK's loop: BATCH_SYNC from last_seq 0 while has_more.
      const got = new Map<string, MessageInfo[]>(mine.map((c) => [c, []]));
      const synced = new Map(mine.map((c) => [c, 0]));
      for (let round = 0; ; round++) {
        expect(round, "BATCH_SYNC rounds").toBeLessThan(500);
        const response = await client.batchSync(
          mine.map((c) => ({ conversationId: c, lastSeq: synced.get(c)! })),
          100,
        );
        expect(response.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
        let more = false;
        for (const entry of response.conversationMessages) {
          if (!entry.conversationId || !got.has(entry.conversationId)) continue;
          got.get(entry.conversationId)!.push(...(entry.messages ?? []));
          synced.set(entry.conversationId, Number(entry.syncedSeq));
          more ||= entry.hasMore === true;
        }
        if (!more) break;
      }
      for (const c of mine) {
        const key = (m: MessageInfo) => `${Number(m.seq)} ${m.serverMsgId} ${m.clientMsgId}`;
        expect(got.get(c)!.map(key), `${user.name}'s BATCH_SYNC of ${c}`).toEqual(truth.get(c)!.map(key));
        batchSynced += got.get(c)!.length;
      }
    }

    // ---- D1: every message exactly once, once the flush alarms have run ----
    const inList = conversations.map((c) => `'${c}'`).join(", ");
    const total = conversations.reduce((n, c) => n + maxSeq(c), 0);
    let counts: { c: string; n: number; d: number }[] = [];
    for (const deadline = Date.now() + CONVERGE_MS; ;) {
      counts = await history<{ c: string; n: number; d: number }>(
        `SELECT conversation_id AS c, COUNT(*) AS n, COUNT(DISTINCT seq) AS d FROM messages WHERE conversation_id IN (${inList}) GROUP BY conversation_id`,
      );
      if (counts.reduce((n, r) => n + r.n, 0) >= total || Date.now() > deadline) break;
      await sleep(2_000);
    }
    const rows = await history<{ c: string; seq: number; s: string; m: string }>(
      `SELECT conversation_id AS c, seq, server_msg_id AS s, client_msg_id AS m FROM messages WHERE conversation_id IN (${inList}) ORDER BY conversation_id, seq`,
    );
    for (const c of conversations) {
      const inD1 = rows.filter((r) => r.c === c).map((r) => `${r.seq} ${r.s} ${r.m}`);
      expect(inD1, `D1 history of ${c}`).toEqual(
        truth.get(c)!.map((m) => `${Number(m.seq)} ${m.serverMsgId} ${m.clientMsgId}`),
      );
    }

    const acked = sent.filter((m) => m.ack).length;
    const duplicatePushes = [...clients.values()].reduce((n, c) => n + c.duplicatePushes, 0);
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(0);
    console.log(
      `chaos: seed ${seed}, ${users.length} users, ${conversations.length} conversations, ${streams.length} streams; ` +
        `kills ${figures.kills} (${figures.processesKilled} processes), sent ${sent.length}, acked ${acked}, ` +
        `in flight at kill ${figures.inFlightAtKill}, unacked at kill ${figures.unackedAtKill} ` +
        `(stored before the crash ${figures.storedBeforeCrash}, absent ${figures.absentAfterCrash}), resent ${figures.resent}; ` +
        `checked ${total} messages (batch-synced ${batchSynced}, D1 rows ${rows.length}); ` +
        `lost: ${lost}, duplicates: ${duplicates}, wrong seq/id/content: ${moved}, out of causal order: ${reordered}, ` +
        `unknown: ${unknown}, duplicate pushes (client dedups): ${duplicatePushes}; ` +
        `desks (second devices, SDK-style): every message held, ${figures.deskRedeliveries} given again; ` +
        `phases: ${figures.phases.join(", ")}; ${seconds} s`,
    );

    expect(refusals).toEqual([]);
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    expect(moved).toBe(0);
    expect(reordered).toBe(0);
    expect(unknown).toBe(0);
    expect(acked).toBe(sent.length);
    expect(figures.kills).toBe(KILLS);
    expect(counts.every((r) => r.n === r.d)).toBe(true);
  },
);
