// One face for both systems under test, so a scenario drives the IM server and the baseline relay
// with exactly the same load: users, connect, send (resolves on the server's ack), pushes, heartbeat.
import type { Usage } from "../../src/lib/usage.ts";
import { groupConversationId } from "../../src/protocol/conversation-id.ts";
import { registerAccounts, type Account } from "../lib/accounts.ts";
import type { RunningServer, SystemKind } from "../lib/server.ts";
import { ImConnection } from "./im-connection.ts";
import { RelayConnection } from "./relay-connection.ts";
import { TcpConnection } from "./tcp-connection.ts";

export interface ChatClient {
  readonly userId: string;
  send(to: string, content: string): Promise<void>;
  /**
   * A message to a group from `createGroup`; `members` are the other members (the IM server knows
   * them and ignores the list; the baseline relay pushes to each one).
   */
  sendToGroup(groupId: string, members: string[], content: string): Promise<void>;
  /** Called with each pushed message's content (text), in arrival order. */
  onPush: ((content: string) => void) | null;
  heartbeat(): Promise<void>;
  readonly closed: boolean;
  close(): void;
  terminate(): void;
}

export interface ChatSystem {
  readonly kind: SystemKind;
  readonly server: RunningServer;
  /** Users that can message each other (on the server: registered and logged in over HTTP). */
  users(count: number, label: string): Promise<string[]>;
  /** Users that only connect (on the server: registered, with tokens signed locally). */
  connectOnlyUsers(count: number, label: string): Promise<string[]>;
  connect(userId: string): Promise<ChatClient>;
  /** A group of `ownerId` and `memberIds` (the IM server: over HTTP; the relay: just an id). */
  createGroup?(ownerId: string, memberIds: string[]): Promise<string>;
  /** The server's usage counts so far (GET /debug/usage, on with USAGE_METER); the relay has none. */
  usage?(): Promise<UsageCounts>;
}

/** GET /debug/usage's answer. */
export type UsageCounts = Usage;

async function readUsage(origin: string, path = "/debug/usage"): Promise<UsageCounts> {
  const response = await fetch(`${origin}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} (is USAGE_METER set?)`);
  return ((await response.json()) as { data: UsageCounts }).data;
}

const textDecoder = new TextDecoder();

class ImChatClient implements ChatClient {
  onPush: ((content: string) => void) | null = null;

  readonly connection: ImConnection | TcpConnection;

  constructor(connection: ImConnection | TcpConnection) {
    this.connection = connection;
    connection.onPush = (m) => this.onPush?.(textDecoder.decode(m.content ?? new Uint8Array()));
  }

  get userId(): string {
    return this.connection.userId;
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  async send(to: string, content: string): Promise<void> {
    await this.connection.sendText(to, content);
  }

  async sendToGroup(groupId: string, _members: string[], content: string): Promise<void> {
    if (!(this.connection instanceof ImConnection)) throw new Error("group sends are not wired for TCP");
    await this.connection.sendTo(groupConversationId(groupId), "", content);
  }

  heartbeat(): Promise<void> {
    return this.connection.heartbeat();
  }

  close(): void {
    this.connection.close();
  }

  terminate(): void {
    this.connection.terminate();
  }
}

/** Most users one group create or invite call may name (MAX_USERS_PER_CALL, src/worker/routes/groups.ts). */
const GROUP_USERS_PER_CALL = 500;

/**
 * Creates a group through the HTTP API, as an app does; returns its id. A group larger than one
 * call may name is created with the first members and the rest invited in turns of that size.
 */
export async function createImGroup(
  server: RunningServer,
  owner: Account,
  memberIds: string[],
): Promise<string> {
  const call = async <T>(path: string, body: object): Promise<T | undefined> => {
    const response = await fetch(`${server.origin}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${owner.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const envelope = (await response.json()) as { code: number; message: string; data?: T };
    if (envelope.code !== 0) throw new Error(`${path}: ${envelope.code} ${envelope.message}`);
    return envelope.data;
  };
  const created = await call<{ groupID: string }>("/api/group/create", {
    groupName: "bench",
    faceURL: "",
    introduction: "",
    memberUserIDs: memberIds.slice(0, GROUP_USERS_PER_CALL),
  });
  if (!created) throw new Error("/api/group/create: no group in the answer");
  for (let from = GROUP_USERS_PER_CALL; from < memberIds.length; from += GROUP_USERS_PER_CALL) {
    const userIDs = memberIds.slice(from, from + GROUP_USERS_PER_CALL);
    await call(`/api/group/${created.groupID}/invite`, { userIDs });
  }
  return created.groupID;
}

export interface ImSystem extends ChatSystem {
  account(userId: string): Account;
  /** `count` registered users, reusing those registered earlier in this run and adding the rest. */
  reuseUsers(count: number, label: string): Promise<string[]>;
}

export function imSystem(server: RunningServer): ImSystem {
  const accounts = new Map<string, Account>();
  const registered: string[] = [];
  const keep = (list: Account[]) => {
    for (const a of list) accounts.set(a.userId, a);
    return list.map((a) => a.userId);
  };
  const account = (userId: string) => {
    const found = accounts.get(userId);
    if (!found) throw new Error(`no account for ${userId}`);
    return found;
  };
  return {
    kind: "server",
    server,
    account,
    users: async (count, label) => {
      const ids = keep(await registerAccounts(server.origin, count, label));
      registered.push(...ids);
      return ids;
    },
    async reuseUsers(count, label) {
      if (registered.length < count) await this.users(count - registered.length, label);
      return registered.slice(0, count);
    },
    // Logged in like any user: a token names a login session the server checks (src/auth/sessions.ts).
    connectOnlyUsers: async (count, label) => keep(await registerAccounts(server.origin, count, label)),
    connect: async (userId) => new ImChatClient(await ImConnection.open(server.origin, account(userId))),
    createGroup: (ownerId, memberIds) => createImGroup(server, account(ownerId), memberIds),
    usage: () => readUsage(server.origin),
  };
}

/**
 * The same server and accounts through the TCP gateway: the server's pids gain the gateway's, so
 * the scenarios' CPU readings include it.
 */
export function tcpSystem(im: ImSystem, gateway: { port: number; pid: number }): ChatSystem {
  return {
    kind: "server",
    server: { ...im.server, pids: { ...im.server.pids, gateway: gateway.pid } },
    users: (count, label) => im.users(count, label),
    connectOnlyUsers: (count, label) => im.connectOnlyUsers(count, label),
    connect: async (userId) => new ImChatClient(await TcpConnection.open(gateway.port, im.account(userId))),
  };
}

/** The baseline relay; `ordered`: its sends go through its ordered floor (bench/baseline/worker.ts). */
export function relaySystem(server: RunningServer, ordered = false): ChatSystem {
  let counter = 0;
  const names = (count: number, label: string) =>
    Array.from({ length: count }, () => `${label}${(counter++).toString(36)}`);
  return {
    kind: "baseline",
    server,
    users: async (count, label) => names(count, label),
    connectOnlyUsers: async (count, label) => names(count, label),
    connect: async (userId) => RelayConnection.open(server.origin, userId, undefined, ordered),
    createGroup: async () => `r${(counter++).toString(36)}`,
    usage: () => readUsage(server.origin, "/usage"),
  };
}
