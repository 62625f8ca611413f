// The server's settings, read from the environment ([vars] in wrangler.toml, secrets, .dev.vars) and
// checked once with zod. An unset (or empty) variable takes its default; a set but invalid one stops the
// server: the worker answers every request 503 and logs which variable is wrong and what it expects
// (src/worker/middleware/settings.ts). Plain erasable TypeScript with `.ts` imports, so that
// scripts/dev.mjs checks the same rules under Node before it starts anything.
import { z } from "zod";
import { DEFAULT_UPLOAD_MAX_BYTES } from "../files/limits.ts";
import { DEFAULT_MESSAGE_MAX_BYTES } from "../protocol/limits.ts";
import {
  checkPushVariables,
  PUSH_SECRET_VARIABLES,
  PUSH_VARIABLES,
  pushSettingsOf,
  type PushSettings,
} from "./push-settings.ts";

/** How many live connections a user may hold (PROTOCOL.md, "Kick"). */
export const DevicePolicy = {
  /** One per (user, platform): a new one on the same platform kicks the old. The default. */
  perPlatform: "per-platform",
  /** One in total: any new connection kicks the others. */
  single: "single",
  /** No limit. */
  all: "all",
} as const;
export type DevicePolicy = (typeof DevicePolicy)[keyof typeof DevicePolicy];

/** What a send does when the before-send webhook does not answer in time: goes through, or is refused. */
export const WebhookTimeoutPolicy = { allow: "allow", refuse: "refuse" } as const;
export type WebhookTimeoutPolicy = (typeof WebhookTimeoutPolicy)[keyof typeof WebhookTimeoutPolicy];

/** The events delivered to the receiver after the fact, through the webhook Queue (docs/WEBHOOKS.md). */
export const WebhookEventName = {
  afterSend: "after_send",
  userRegistered: "user_registered",
  groupChanged: "group_changed",
} as const;
export type WebhookEventName = (typeof WebhookEventName)[keyof typeof WebhookEventName];

export interface WebhookSettings {
  url: string;
  secret: string;
  /** Ask the receiver before each send is stored (it may refuse or rewrite it). */
  beforeSend: boolean;
  timeoutMs: number;
  onTimeout: WebhookTimeoutPolicy;
  /** The events sent after the fact (WEBHOOK_EVENTS); empty when none is. */
  events: ReadonlySet<WebhookEventName>;
  /** The first retry's delay; each later one doubles it, up to an hour. 0 retries at once. */
  retryDelaySeconds: number;
}

/** Who may see a user's presence (ONLINE_STATUS_REQ): their friends only (the default) or anyone. */
export const PresenceVisibleTo = { friends: "friends", everyone: "everyone" } as const;
export type PresenceVisibleTo = (typeof PresenceVisibleTo)[keyof typeof PresenceVisibleTo];

export interface Settings {
  jwtSecret: string;
  /** The admin API's credential (`/api/admin/*`); null when unset, and then that API refuses every call. */
  adminToken: string | null;
  /** The team's webhook receiver (src/webhooks/); null when WEBHOOK_URL is unset. */
  webhook: WebhookSettings | null;
  bcryptCost: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  messageMaxBytes: number;
  /** A sender may edit a text message this long after its server_time (docs/RICH-MESSAGES.md). */
  messageEditWindowSeconds: number;
  /** Per-user send rate: a token bucket refilled at this rate, holding at most `sendBurst`. */
  sendRatePerSecond: number;
  sendBurst: number;
  /** Frames one socket may send a second, and in a burst; beyond, each gets ERR_SEND_TOO_FAST. */
  socketRequestsPerSecond: number;
  socketRequestBurst: number;
  devicePolicy: DevicePolicy;
  /** New friend requests (each a notice to its receiver) one user may send an hour. */
  friendRequestsPerHour: number;
  /** After a rejection, a request to the same user is refused for this long. */
  friendRequestCooldownSeconds: number;
  /** Message searches one user may make a minute (each holds D1, which runs one query at a time). */
  searchesPerMinute: number;
  /** Whose ONLINE_STATUS_REQ sees a user's platforms and last_seen; others see "offline". */
  presenceVisibleTo: PresenceVisibleTo;
  /** Largest group, owner included. */
  groupMaxMembers: number;
  /** Groups up to this size list read_by and push read receipts; larger ones keep read counts only. */
  groupReceiptMaxMembers: number;
  /** Largest upload in bytes. */
  uploadMaxBytes: number;
  /** When true, uploads without a token are refused (the SDK's raw upload sends none). */
  uploadRequireToken: boolean;
  /** Anonymous uploads per client address: files per minute and bytes per hour. */
  uploadAnonPerMinute: number;
  uploadAnonBytesPerHour: number;
  /** Uploads per signed-in user: files per minute and bytes per hour. */
  uploadUserPerMinute: number;
  uploadUserBytesPerHour: number;
  /** HistoryWriter objects the conversations' D1 copies are spread over (src/objects/history/). */
  historyWriters: number;
  /** The D1 databases history is sharded over (src/db/history-shards.ts). */
  historyShards: HistoryShards;
  /** Count D1 and storage rows written and serve GET /debug/usage (the local benchmark's meter). */
  usageMeter: boolean;
  /** Offline push: timing, bounds and the providers configured (push-settings.ts). */
  push: PushSettings;
  /** Chatrooms' bounds (docs/CHATROOMS.md). */
  chatroom: ChatroomSettings;
}

/** Chatrooms (src/objects/chatroom/, docs/CHATROOMS.md). */
export interface ChatroomSettings {
  /** Rooms one user may have created and not closed. */
  perUser: number;
  /** Sockets one relay object holds before the room opens another relay. */
  listenersPerRelay: number;
  /** Listeners one room admits at once, over all its relays. */
  maxListeners: number;
  /** Newest messages a room keeps (recent history on join, gap fills). */
  historyKeep: number;
  /** Largest content of one room message, in bytes. */
  messageMaxBytes: number;
  /** Per-sender send rate in a room: a token bucket refilled at this rate, holding at most `sendBurst`. */
  sendPerSecond: number;
  sendBurst: number;
  /** Messages a listener may be behind its last ack before its relay closes it (4008). */
  maxUnacked: number;
}

/** The main database's binding: history shard 0, where history written before shards lives. */
export const MAIN_DATABASE = "DB";

export interface HistoryShards {
  /** Every history shard's D1 binding name, as listed (DB always among them). */
  all: readonly string[];
  /** Those a new conversation's history may be placed on (a non-empty part of `all`). */
  open: readonly string[];
}

/** Minimum secret length: an HS256 key shorter than 32 bytes is guessable offline. */
const MIN_SECRET_LENGTH = 32;

/** Variables whose values are never shown, not even when they are wrong. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  "JWT_SECRET",
  "ADMIN_TOKEN",
  "WEBHOOK_SECRET",
  ...PUSH_SECRET_VARIABLES,
]);

const secret = z
  .string({ error: `must be set to a secret of at least ${MIN_SECRET_LENGTH} characters` })
  .min(MIN_SECRET_LENGTH, { error: `must be at least ${MIN_SECRET_LENGTH} characters long` });

/**
 * A whole number above zero: anything Number() reads as one ("20", "1e3", or a number given as a
 * JSON value in [vars]).
 */
function positiveInt(fallback: number) {
  return z
    .custom<string | number>(
      (value) =>
        (typeof value === "string" || typeof value === "number") &&
        Number.isInteger(Number(value)) &&
        Number(value) > 0,
      { error: "must be a positive integer" },
    )
    .transform(Number)
    .default(fallback);
}

/** "true" or "1" switch it on, "false" or "0" off (a JSON boolean in [vars] too); unset is off. */
const flag = z
  .union([z.boolean(), z.enum(["true", "1", "false", "0"])], { error: 'must be "true" or "false"' })
  .transform((value) => value === true || value === "true" || value === "1")
  .default(false);

/** A whole number from zero up. */
function nonNegativeInt(fallback: number) {
  return z
    .custom<string | number>(
      (value) =>
        (typeof value === "string" || typeof value === "number") &&
        Number.isInteger(Number(value)) &&
        Number(value) >= 0,
      { error: "must be a whole number, 0 or more" },
    )
    .transform(Number)
    .default(fallback);
}

/** A comma-separated list of names from `values` ("" or unset: none); a name twice counts once. */
function listOf<const T extends Record<string, string>>(values: T) {
  const known = new Set<string>(Object.values(values));
  const listed = [...known].map((value) => `"${value}"`).join(", ");
  return z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((name) => name.trim())
        .filter((name) => name !== ""),
    )
    .refine((names) => names.every((name) => known.has(name)), {
      error: `must be a comma-separated list of ${listed}`,
    })
    .transform((names) => new Set(names as T[keyof T][]) as ReadonlySet<T[keyof T]>)
    .default(new Set<T[keyof T]>());
}

/** A binding name as wrangler accepts it in [[d1_databases]] (a JavaScript identifier). */
const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A comma-separated list of D1 binding names, in order, each once. Only the names are checked here;
 * that each is a D1 binding of the Worker is checked against the environment (checkSettings).
 */
const bindingNames = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== ""),
  )
  .refine((names) => names.length > 0 && names.every((name) => BINDING_NAME.test(name)), {
    error: "must be a comma-separated list of D1 binding names",
  })
  .refine((names) => new Set(names).size === names.length, { error: "must name each binding once" });

function oneOf<const T extends Record<string, string>>(values: T, fallback: T[keyof T]) {
  const listed = Object.values(values)
    .map((value) => `"${value}"`)
    .join(", ");
  return z.enum(values, { error: `must be one of ${listed}` }).default(fallback);
}

/** Every setting by its variable name, with its rule and its default. */
const environment = z
  .object({
    JWT_SECRET: secret,
    // Optional: without it the admin API is off (every call refused), never open.
    ADMIN_TOKEN: secret.optional(),
    BCRYPT_COST: positiveInt(10),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt(2_592_000),
    REFRESH_TOKEN_TTL_SECONDS: positiveInt(2_592_000),
    MESSAGE_MAX_BYTES: positiveInt(DEFAULT_MESSAGE_MAX_BYTES),
    MESSAGE_EDIT_WINDOW_SECONDS: positiveInt(172_800),
    SEND_RATE_PER_SECOND: positiveInt(20),
    SEND_BURST: positiveInt(50),
    SOCKET_REQUESTS_PER_SECOND: positiveInt(50),
    SOCKET_REQUEST_BURST: positiveInt(100),
    GROUP_MAX_MEMBERS: positiveInt(2000),
    GROUP_RECEIPT_MAX_MEMBERS: positiveInt(100),
    UPLOAD_MAX_BYTES: positiveInt(DEFAULT_UPLOAD_MAX_BYTES),
    UPLOAD_REQUIRE_TOKEN: flag,
    UPLOAD_ANON_PER_MINUTE: positiveInt(30),
    UPLOAD_ANON_BYTES_PER_HOUR: positiveInt(1024 ** 3),
    UPLOAD_USER_PER_MINUTE: positiveInt(60),
    UPLOAD_USER_BYTES_PER_HOUR: positiveInt(2 * 1024 ** 3),
    DEVICE_POLICY: oneOf(DevicePolicy, DevicePolicy.perPlatform),
    FRIEND_REQUESTS_PER_HOUR: positiveInt(60),
    FRIEND_REQUEST_COOLDOWN_SECONDS: positiveInt(86_400),
    SEARCHES_PER_MINUTE: positiveInt(60),
    PRESENCE_VISIBLE_TO: oneOf(PresenceVisibleTo, PresenceVisibleTo.friends),
    HISTORY_WRITERS: positiveInt(4),
    CHATROOMS_PER_USER: positiveInt(20),
    CHATROOM_LISTENERS_PER_RELAY: positiveInt(1_000).refine((n) => n <= 30_000, {
      error: "must be at most 30000 (an object holds at most 32,768 sockets)",
    }),
    CHATROOM_MAX_LISTENERS: positiveInt(100_000),
    CHATROOM_HISTORY_KEEP: positiveInt(500).refine((n) => n <= 100_000, { error: "must be at most 100000" }),
    CHATROOM_MESSAGE_MAX_BYTES: positiveInt(4_096).refine((n) => n <= 65_536, {
      error: "must be at most 65536",
    }),
    CHATROOM_SEND_PER_SECOND: positiveInt(5),
    CHATROOM_SEND_BURST: positiveInt(10),
    // Below 500 a listener acking every 100 messages could be closed while keeping up.
    CHATROOM_MAX_UNACKED: positiveInt(1_000).refine((n) => n >= 500, { error: "must be at least 500" }),
    // DB must stay listed: every conversation without a recorded shard has its history there.
    HISTORY_SHARDS: bindingNames
      .refine((names) => names.includes(MAIN_DATABASE), {
        error: `must include ${MAIN_DATABASE}, the main database, which holds the history written before shards`,
      })
      .default([MAIN_DATABASE]),
    HISTORY_SHARDS_OPEN: bindingNames.optional(),
    USAGE_METER: flag,
    WEBHOOK_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
    WEBHOOK_SECRET: secret.optional(),
    WEBHOOK_BEFORE_SEND: flag,
    // At most 3 s: a device's later frames wait behind the hook, and the SDK resends after 5 s.
    WEBHOOK_TIMEOUT_MS: positiveInt(1_000).refine((ms) => ms <= 3_000, { error: "must be at most 3000" }),
    WEBHOOK_ON_TIMEOUT: oneOf(WebhookTimeoutPolicy, WebhookTimeoutPolicy.allow),
    WEBHOOK_EVENTS: listOf(WebhookEventName),
    WEBHOOK_RETRY_DELAY_SECONDS: nonNegativeInt(10),
    ...PUSH_VARIABLES,
  })
  .superRefine((vars, context) => {
    const shards = new Set(vars.HISTORY_SHARDS);
    if (vars.HISTORY_SHARDS_OPEN?.some((name) => !shards.has(name)))
      context.addIssue({
        code: "custom",
        path: ["HISTORY_SHARDS_OPEN"],
        message: "must name only shards listed in HISTORY_SHARDS",
      });
    checkPushVariables(vars, (path, message) => context.addIssue({ code: "custom", path: [path], message }));
    // A receiver must be able to tell our calls from anyone's: no webhook without its secret.
    if (vars.WEBHOOK_URL !== undefined && vars.WEBHOOK_SECRET === undefined)
      context.addIssue({
        code: "custom",
        path: ["WEBHOOK_SECRET"],
        message: "must be set when WEBHOOK_URL is",
      });
    // Moderation asked for but nowhere to ask: refused rather than silently off.
    if (vars.WEBHOOK_BEFORE_SEND && vars.WEBHOOK_URL === undefined)
      context.addIssue({
        code: "custom",
        path: ["WEBHOOK_URL"],
        message: "must be set when WEBHOOK_BEFORE_SEND is true",
      });
    if (vars.WEBHOOK_EVENTS.size > 0 && vars.WEBHOOK_URL === undefined)
      context.addIssue({
        code: "custom",
        path: ["WEBHOOK_URL"],
        message: "must be set when WEBHOOK_EVENTS lists events",
      });
  })
  .transform((vars): Settings => ({
    jwtSecret: vars.JWT_SECRET,
    adminToken: vars.ADMIN_TOKEN ?? null,
    bcryptCost: vars.BCRYPT_COST,
    accessTokenTtlSeconds: vars.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: vars.REFRESH_TOKEN_TTL_SECONDS,
    messageMaxBytes: vars.MESSAGE_MAX_BYTES,
    messageEditWindowSeconds: vars.MESSAGE_EDIT_WINDOW_SECONDS,
    sendRatePerSecond: vars.SEND_RATE_PER_SECOND,
    sendBurst: vars.SEND_BURST,
    socketRequestsPerSecond: vars.SOCKET_REQUESTS_PER_SECOND,
    socketRequestBurst: vars.SOCKET_REQUEST_BURST,
    groupMaxMembers: vars.GROUP_MAX_MEMBERS,
    groupReceiptMaxMembers: vars.GROUP_RECEIPT_MAX_MEMBERS,
    uploadMaxBytes: vars.UPLOAD_MAX_BYTES,
    uploadRequireToken: vars.UPLOAD_REQUIRE_TOKEN,
    uploadAnonPerMinute: vars.UPLOAD_ANON_PER_MINUTE,
    uploadAnonBytesPerHour: vars.UPLOAD_ANON_BYTES_PER_HOUR,
    uploadUserPerMinute: vars.UPLOAD_USER_PER_MINUTE,
    uploadUserBytesPerHour: vars.UPLOAD_USER_BYTES_PER_HOUR,
    devicePolicy: vars.DEVICE_POLICY,
    friendRequestsPerHour: vars.FRIEND_REQUESTS_PER_HOUR,
    friendRequestCooldownSeconds: vars.FRIEND_REQUEST_COOLDOWN_SECONDS,
    searchesPerMinute: vars.SEARCHES_PER_MINUTE,
    presenceVisibleTo: vars.PRESENCE_VISIBLE_TO,
    historyWriters: vars.HISTORY_WRITERS,
    historyShards: { all: vars.HISTORY_SHARDS, open: vars.HISTORY_SHARDS_OPEN ?? vars.HISTORY_SHARDS },
    usageMeter: vars.USAGE_METER,
    push: pushSettingsOf(vars),
    chatroom: {
      perUser: vars.CHATROOMS_PER_USER,
      listenersPerRelay: vars.CHATROOM_LISTENERS_PER_RELAY,
      maxListeners: vars.CHATROOM_MAX_LISTENERS,
      historyKeep: vars.CHATROOM_HISTORY_KEEP,
      messageMaxBytes: vars.CHATROOM_MESSAGE_MAX_BYTES,
      sendPerSecond: vars.CHATROOM_SEND_PER_SECOND,
      sendBurst: vars.CHATROOM_SEND_BURST,
      maxUnacked: vars.CHATROOM_MAX_UNACKED,
    },
    webhook:
      vars.WEBHOOK_URL !== undefined && vars.WEBHOOK_SECRET !== undefined
        ? {
            url: vars.WEBHOOK_URL,
            secret: vars.WEBHOOK_SECRET,
            beforeSend: vars.WEBHOOK_BEFORE_SEND,
            timeoutMs: vars.WEBHOOK_TIMEOUT_MS,
            onTimeout: vars.WEBHOOK_ON_TIMEOUT,
            events: vars.WEBHOOK_EVENTS,
            retryDelaySeconds: vars.WEBHOOK_RETRY_DELAY_SECONDS,
          }
        : null,
  }));

/** One variable set to something its rule refuses. */
export interface SettingProblem {
  /** The variable, e.g. SEND_RATE_PER_SECOND. */
  variable: string;
  /** What it must be, e.g. "must be a positive integer". */
  expected: string;
  /** The value as set, quoted; absent for the secrets, whose values are never shown, and when unset. */
  got?: string;
}

export type SettingsCheck = { ok: true; settings: Settings } | { ok: false; problems: SettingProblem[] };

/**
 * Whether a binding's value is a D1 database (what `[[d1_databases]]` gives the Worker): it has
 * D1's methods, and is not an RPC stub (a service binding), which answers any name with a method.
 */
export function isD1(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const d1 = value as Record<string, unknown>;
  return (
    typeof d1.prepare === "function" &&
    typeof d1.batch === "function" &&
    typeof d1.noSuchD1Method === "undefined"
  );
}

/**
 * The history shards named in a variable set in `env` that are not D1 bindings: a typo would
 * otherwise place conversations on a database that does not exist. `d1Bindings`, when given, are
 * the D1 bindings declared (scripts/dev.mjs, from wrangler.toml); otherwise `env`'s values are looked at.
 */
function shardBindingProblems(
  env: Readonly<Record<string, unknown>>,
  shards: HistoryShards,
  d1Bindings: ReadonlySet<string> | undefined,
): SettingProblem[] {
  const bound = (name: string) => (d1Bindings ? d1Bindings.has(name) : isD1(env[name]));
  // Unset, the list is DB alone: the main database, which everything else needs anyway.
  if (env.HISTORY_SHARDS === undefined || env.HISTORY_SHARDS === "") return [];
  const missing = shards.all.filter((name) => !bound(name));
  if (missing.length === 0) return [];
  return [
    {
      variable: "HISTORY_SHARDS",
      expected: `must name D1 bindings of the Worker ([[d1_databases]] in wrangler.toml); not one: ${missing.join(", ")}`,
      got: JSON.stringify(env.HISTORY_SHARDS),
    },
  ];
}

/** Checks the environment against every rule; pure, no cache (readSettings caches). */
export function checkSettings(
  env: Readonly<Record<string, unknown>>,
  d1Bindings?: ReadonlySet<string>,
): SettingsCheck {
  // An empty value (`SEND_BURST=` in .dev.vars) is unset, as it was before settings were checked.
  const parsed = environment.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")));
  if (parsed.success) {
    const problems = shardBindingProblems(env, parsed.data.historyShards, d1Bindings);
    return problems.length === 0 ? { ok: true, settings: parsed.data } : { ok: false, problems };
  }
  const problems = new Map<string, SettingProblem>();
  for (const issue of parsed.error.issues) {
    const variable = String(issue.path[0] ?? "environment");
    if (problems.has(variable)) continue;
    const value = env[variable];
    const shown = !SECRET_VARIABLES.has(variable) && value !== undefined;
    problems.set(variable, {
      variable,
      expected: issue.message,
      ...(shown ? { got: JSON.stringify(value) } : {}),
    });
  }
  return { ok: false, problems: [...problems.values()] };
}

/** "SEND_RATE_PER_SECOND must be a positive integer; DEVICE_POLICY must be one of …": for clients. */
export function describeProblems(problems: readonly SettingProblem[]): string {
  return problems.map((p) => `${p.variable} ${p.expected}`).join("; ");
}

/** The same with each bad value (never the secret's): for the operator's log. */
export function describeProblemsWithValues(problems: readonly SettingProblem[]): string {
  return problems
    .map((p) => `${p.variable} ${p.expected}${p.got === undefined ? "" : ` (got ${p.got})`}`)
    .join("; ");
}

/** Thrown by readSettings when the environment is invalid. */
export class SettingsError extends Error {
  readonly problems: readonly SettingProblem[];

  constructor(problems: readonly SettingProblem[]) {
    super(`server misconfigured: ${describeProblems(problems)}`);
    this.name = "SettingsError";
    this.problems = problems;
  }
}

// One check per environment object: an isolate gets the same env for every request, and each
// Durable Object keeps its own. A failure is cached too, and logged once.
const checked = new WeakMap<object, SettingsCheck>();
let lastLogged: string | undefined;

/** The cached check of this environment; the first failure of a configuration is logged once. */
export function settingsOf(env: object): SettingsCheck {
  let result = checked.get(env);
  if (result) return result;
  result = checkSettings(env as Readonly<Record<string, unknown>>);
  checked.set(env, result);
  if (!result.ok) {
    const line = `server misconfigured, every request is refused until it is fixed: ${describeProblemsWithValues(result.problems)}`;
    if (line !== lastLogged) console.error(line);
    lastLogged = line;
  }
  return result;
}

/** The settings of this environment; throws SettingsError when it is invalid. */
export function readSettings(env: Env): Settings {
  const result = settingsOf(env);
  if (!result.ok) throw new SettingsError(result.problems);
  return result.settings;
}
