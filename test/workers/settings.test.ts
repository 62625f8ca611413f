// Settings from the environment (src/config/settings.ts): unset takes the default, a good value is
// kept, and a set but invalid one is refused by name; a worker so configured answers every request
// with a 503 envelope instead of running on a silent default.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  checkSettings,
  DevicePolicy,
  PresenceVisibleTo,
  readSettings,
  SettingsError,
  type Settings,
} from "../../src/config/settings";
import { createApp } from "../../src/worker/app";
import { ORIGIN } from "./helpers/http";

const SECRET = "s".repeat(32);

afterEach(() => {
  vi.restoreAllMocks();
});

const DEFAULTS: Settings = {
  jwtSecret: SECRET,
  adminToken: null,
  webhook: null,
  bcryptCost: 10,
  accessTokenTtlSeconds: 2_592_000,
  refreshTokenTtlSeconds: 2_592_000,
  messageMaxBytes: 65_536,
  messageEditWindowSeconds: 172_800,
  sendRatePerSecond: 20,
  sendBurst: 50,
  socketRequestsPerSecond: 50,
  socketRequestBurst: 100,
  devicePolicy: DevicePolicy.perPlatform,
  friendRequestsPerHour: 60,
  friendRequestCooldownSeconds: 86_400,
  searchesPerMinute: 60,
  presenceVisibleTo: PresenceVisibleTo.friends,
  groupMaxMembers: 2000,
  groupReceiptMaxMembers: 100,
  uploadMaxBytes: 104_857_600,
  uploadRequireToken: false,
  uploadAnonPerMinute: 30,
  uploadAnonBytesPerHour: 1_073_741_824,
  uploadUserPerMinute: 60,
  uploadUserBytesPerHour: 2_147_483_648,
  historyWriters: 4,
  historyShards: { all: ["DB"], open: ["DB"] },
  usageMeter: false,
  push: {
    debounceMs: 2_000,
    maxPerMinute: 30,
    retryBaseSeconds: 10,
    redeliverSeconds: 300,
    apns: null,
    fcm: null,
    webhook: null,
  },
  chatroom: {
    perUser: 20,
    listenersPerRelay: 1_000,
    maxListeners: 100_000,
    historyKeep: 500,
    messageMaxBytes: 4_096,
    sendPerSecond: 5,
    sendBurst: 10,
    maxUnacked: 1_000,
  },
};

/** The problems of an environment, each as "VARIABLE expected (got value)". */
function problemsOf(vars: Record<string, unknown>): string[] {
  const check = checkSettings(vars);
  if (check.ok) throw new Error(`expected ${JSON.stringify(vars)} to be refused`);
  return check.problems.map(
    (p) => `${p.variable} ${p.expected}${p.got === undefined ? "" : ` (got ${p.got})`}`,
  );
}

describe("settings from the environment", () => {
  it("takes the defaults for every unset variable", () => {
    expect(checkSettings({ JWT_SECRET: SECRET })).toEqual({ ok: true, settings: DEFAULTS });
  });

  it("takes an empty value (SEND_BURST= in .dev.vars) as unset, but never an empty secret", () => {
    const empty = { BCRYPT_COST: "", SEND_BURST: "", UPLOAD_REQUIRE_TOKEN: "", DEVICE_POLICY: "" };
    expect(checkSettings({ JWT_SECRET: SECRET, ...empty })).toEqual({ ok: true, settings: DEFAULTS });
    expect(problemsOf({ JWT_SECRET: "" })).toEqual([
      "JWT_SECRET must be set to a secret of at least 32 characters",
    ]);
  });

  it("keeps every good value", () => {
    const check = checkSettings({
      JWT_SECRET: SECRET,
      ADMIN_TOKEN: "t".repeat(40),
      BCRYPT_COST: "4",
      ACCESS_TOKEN_TTL_SECONDS: "3600",
      REFRESH_TOKEN_TTL_SECONDS: "7200",
      MESSAGE_MAX_BYTES: "1000",
      SEND_RATE_PER_SECOND: "5",
      SEND_BURST: "6",
      SOCKET_REQUESTS_PER_SECOND: "7",
      SOCKET_REQUEST_BURST: "8",
      DEVICE_POLICY: "single",
      FRIEND_REQUESTS_PER_HOUR: "9",
      FRIEND_REQUEST_COOLDOWN_SECONDS: "10",
      SEARCHES_PER_MINUTE: "19",
      MESSAGE_EDIT_WINDOW_SECONDS: "28",
      PRESENCE_VISIBLE_TO: "everyone",
      GROUP_MAX_MEMBERS: "11",
      GROUP_RECEIPT_MAX_MEMBERS: "12",
      UPLOAD_MAX_BYTES: "13",
      UPLOAD_REQUIRE_TOKEN: "true",
      UPLOAD_ANON_PER_MINUTE: "14",
      UPLOAD_ANON_BYTES_PER_HOUR: "15",
      UPLOAD_USER_PER_MINUTE: "16",
      UPLOAD_USER_BYTES_PER_HOUR: "17",
      HISTORY_WRITERS: "18",
      HISTORY_SHARDS: "DB,HISTORY_1",
      HISTORY_SHARDS_OPEN: "HISTORY_1",
      // The shards named must be D1 bindings of the environment.
      DB: env.DB,
      HISTORY_1: env.HISTORY_1,
      USAGE_METER: "true",
      CHATROOMS_PER_USER: "21",
      CHATROOM_LISTENERS_PER_RELAY: "22",
      CHATROOM_MAX_LISTENERS: "23",
      CHATROOM_HISTORY_KEEP: "24",
      CHATROOM_MESSAGE_MAX_BYTES: "25",
      CHATROOM_SEND_PER_SECOND: "26",
      CHATROOM_SEND_BURST: "27",
      CHATROOM_MAX_UNACKED: "800",
    });
    expect(check).toEqual({
      ok: true,
      settings: {
        jwtSecret: SECRET,
        adminToken: "t".repeat(40),
        webhook: null,
        bcryptCost: 4,
        accessTokenTtlSeconds: 3600,
        refreshTokenTtlSeconds: 7200,
        messageMaxBytes: 1000,
        messageEditWindowSeconds: 28,
        sendRatePerSecond: 5,
        sendBurst: 6,
        socketRequestsPerSecond: 7,
        socketRequestBurst: 8,
        devicePolicy: DevicePolicy.single,
        friendRequestsPerHour: 9,
        friendRequestCooldownSeconds: 10,
        searchesPerMinute: 19,
        presenceVisibleTo: PresenceVisibleTo.everyone,
        groupMaxMembers: 11,
        groupReceiptMaxMembers: 12,
        uploadMaxBytes: 13,
        uploadRequireToken: true,
        uploadAnonPerMinute: 14,
        uploadAnonBytesPerHour: 15,
        uploadUserPerMinute: 16,
        uploadUserBytesPerHour: 17,
        historyWriters: 18,
        historyShards: { all: ["DB", "HISTORY_1"], open: ["HISTORY_1"] },
        usageMeter: true,
        push: DEFAULTS.push,
        chatroom: {
          perUser: 21,
          listenersPerRelay: 22,
          maxListeners: 23,
          historyKeep: 24,
          messageMaxBytes: 25,
          sendPerSecond: 26,
          sendBurst: 27,
          maxUnacked: 800,
        },
      },
    });
  });

  it("reads flags, policies and numbers in every accepted form", () => {
    const settings = (vars: Record<string, unknown>) => {
      const check = checkSettings({ JWT_SECRET: SECRET, ...vars });
      if (!check.ok) throw new Error(JSON.stringify(check.problems));
      return check.settings;
    };
    expect(settings({ UPLOAD_REQUIRE_TOKEN: "1" }).uploadRequireToken).toBe(true);
    expect(settings({ UPLOAD_REQUIRE_TOKEN: "false" }).uploadRequireToken).toBe(false);
    expect(settings({ UPLOAD_REQUIRE_TOKEN: "0" }).uploadRequireToken).toBe(false);
    // [vars] may hold JSON values: a number, a boolean.
    expect(settings({ UPLOAD_REQUIRE_TOKEN: true }).uploadRequireToken).toBe(true);
    expect(settings({ SEND_BURST: 70 }).sendBurst).toBe(70);
    expect(settings({ DEVICE_POLICY: "all" }).devicePolicy).toBe(DevicePolicy.all);
    expect(settings({ DEVICE_POLICY: "per-platform" }).devicePolicy).toBe(DevicePolicy.perPlatform);
    expect(settings({ PRESENCE_VISIBLE_TO: "friends" }).presenceVisibleTo).toBe(PresenceVisibleTo.friends);
  });

  it("refuses each kind of bad value, naming its variable, the value and what is expected", () => {
    const base = { JWT_SECRET: SECRET };
    expect(problemsOf({ ...base, CHATROOM_LISTENERS_PER_RELAY: "40000" })).toEqual([
      'CHATROOM_LISTENERS_PER_RELAY must be at most 30000 (an object holds at most 32,768 sockets) (got "40000")',
    ]);
    expect(problemsOf({ ...base, CHATROOM_MAX_UNACKED: "499" })).toEqual([
      'CHATROOM_MAX_UNACKED must be at least 500 (got "499")',
    ]);
    expect(problemsOf({ ...base, SEND_RATE_PER_SECOND: "abc" })).toEqual([
      'SEND_RATE_PER_SECOND must be a positive integer (got "abc")',
    ]);
    expect(problemsOf({ ...base, SEND_BURST: "-5" })).toEqual([
      'SEND_BURST must be a positive integer (got "-5")',
    ]);
    expect(problemsOf({ ...base, GROUP_MAX_MEMBERS: "0" })).toEqual([
      'GROUP_MAX_MEMBERS must be a positive integer (got "0")',
    ]);
    expect(problemsOf({ ...base, UPLOAD_MAX_BYTES: "2.5" })).toEqual([
      'UPLOAD_MAX_BYTES must be a positive integer (got "2.5")',
    ]);
    expect(problemsOf({ ...base, UPLOAD_REQUIRE_TOKEN: "yes" })).toEqual([
      'UPLOAD_REQUIRE_TOKEN must be "true" or "false" (got "yes")',
    ]);
    expect(problemsOf({ ...base, DEVICE_POLICY: "multi" })).toEqual([
      'DEVICE_POLICY must be one of "per-platform", "single", "all" (got "multi")',
    ]);
    expect(problemsOf({ ...base, PRESENCE_VISIBLE_TO: "nobody" })).toEqual([
      'PRESENCE_VISIBLE_TO must be one of "friends", "everyone" (got "nobody")',
    ]);
    // Every bad variable at once, not only the first.
    expect(problemsOf({ ...base, SEND_BURST: "x", FRIEND_REQUESTS_PER_HOUR: "y" })).toEqual([
      'SEND_BURST must be a positive integer (got "x")',
      'FRIEND_REQUESTS_PER_HOUR must be a positive integer (got "y")',
    ]);
  });

  it("refuses a missing or short JWT_SECRET without ever showing it", () => {
    expect(problemsOf({})).toEqual(["JWT_SECRET must be set to a secret of at least 32 characters"]);
    const short = "not-long-enough-secret";
    const problems = problemsOf({ JWT_SECRET: short });
    expect(problems).toEqual(["JWT_SECRET must be at least 32 characters long"]);
    expect(problems.join()).not.toContain(short);
  });

  it("leaves the admin API off without ADMIN_TOKEN, and refuses a short one without showing it", () => {
    const admin = "a".repeat(32);
    expect(checkSettings({ JWT_SECRET: SECRET, ADMIN_TOKEN: admin })).toEqual({
      ok: true,
      settings: { ...DEFAULTS, adminToken: admin },
    });
    expect(checkSettings({ JWT_SECRET: SECRET, ADMIN_TOKEN: "" })).toEqual({ ok: true, settings: DEFAULTS });
    const short = "admin-token-too-short";
    const problems = problemsOf({ JWT_SECRET: SECRET, ADMIN_TOKEN: short });
    expect(problems).toEqual(["ADMIN_TOKEN must be at least 32 characters long"]);
    expect(problems.join()).not.toContain(short);
  });

  it("takes a webhook only with its secret, never showing the secret", () => {
    const hook = { WEBHOOK_URL: "https://hooks.example.com/im", WEBHOOK_SECRET: "w".repeat(32) };
    expect(checkSettings({ JWT_SECRET: SECRET, ...hook, WEBHOOK_BEFORE_SEND: "true" })).toEqual({
      ok: true,
      settings: {
        ...DEFAULTS,
        webhook: {
          url: hook.WEBHOOK_URL,
          secret: hook.WEBHOOK_SECRET,
          beforeSend: true,
          timeoutMs: 1_000,
          onTimeout: "allow",
          events: new Set(),
          retryDelaySeconds: 10,
        },
      },
    });
    const withEvents = checkSettings({
      JWT_SECRET: SECRET,
      ...hook,
      WEBHOOK_EVENTS: " after_send, group_changed,after_send ",
      WEBHOOK_RETRY_DELAY_SECONDS: "0",
    });
    expect(withEvents.ok && withEvents.settings.webhook).toMatchObject({
      events: new Set(["after_send", "group_changed"]),
      retryDelaySeconds: 0,
    });
    expect(problemsOf({ JWT_SECRET: SECRET, ...hook, WEBHOOK_EVENTS: "after_send,message_read" })).toEqual([
      'WEBHOOK_EVENTS must be a comma-separated list of "after_send", "user_registered", "group_changed" (got "after_send,message_read")',
    ]);
    expect(problemsOf({ JWT_SECRET: SECRET, WEBHOOK_EVENTS: "user_registered" })).toEqual([
      "WEBHOOK_URL must be set when WEBHOOK_EVENTS lists events",
    ]);
    expect(problemsOf({ JWT_SECRET: SECRET, ...hook, WEBHOOK_RETRY_DELAY_SECONDS: "-1" })).toEqual([
      'WEBHOOK_RETRY_DELAY_SECONDS must be a whole number, 0 or more (got "-1")',
    ]);
    expect(problemsOf({ JWT_SECRET: SECRET, WEBHOOK_URL: hook.WEBHOOK_URL })).toEqual([
      "WEBHOOK_SECRET must be set when WEBHOOK_URL is",
    ]);
    expect(problemsOf({ JWT_SECRET: SECRET, WEBHOOK_BEFORE_SEND: "true" })).toEqual([
      "WEBHOOK_URL must be set when WEBHOOK_BEFORE_SEND is true",
    ]);
    expect(problemsOf({ JWT_SECRET: SECRET, ...hook, WEBHOOK_TIMEOUT_MS: "10000" })).toEqual([
      'WEBHOOK_TIMEOUT_MS must be at most 3000 (got "10000")',
    ]);
    expect(
      problemsOf({ JWT_SECRET: SECRET, WEBHOOK_URL: "ftp://example.com", WEBHOOK_SECRET: "short-one" }),
    ).toEqual([
      'WEBHOOK_URL must be an http(s) URL (got "ftp://example.com")',
      "WEBHOOK_SECRET must be at least 32 characters long",
    ]);
  });

  it("checks an environment once, and throws for an invalid one", () => {
    const good = { ...env };
    expect(readSettings(good)).toBe(readSettings(good));
    const bad = { ...env, DEVICE_POLICY: "multi" } as unknown as Env;
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => readSettings(bad)).toThrow(SettingsError);
    expect(() => readSettings(bad)).toThrow(
      'server misconfigured: DEVICE_POLICY must be one of "per-platform", "single", "all"',
    );
  });
});

describe("a misconfigured worker", () => {
  async function fetchWith(vars: Env, path: string, init?: RequestInit): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await createApp().fetch(new Request(`${ORIGIN}${path}`, init), vars, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  it("answers every request, /health and the /ws upgrade included, with a 503 envelope naming the variable", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const misconfigured = { ...env, SEND_RATE_PER_SECOND: "abc" } as unknown as Env;
    const expected = {
      code: 503,
      message: "server misconfigured: SEND_RATE_PER_SECOND must be a positive integer",
      data: null,
    };
    const requests: [string, RequestInit?][] = [
      ["/health"],
      ["/ws", { headers: { Upgrade: "websocket" } }],
      ["/api/auth/login", { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } }],
      ["/files/0123456789abcdef0123456789abcdef.png"],
      ["/no/such/path"],
    ];
    for (const [path, init] of requests) {
      const response = await fetchWith(misconfigured, path, init);
      expect(response.status, path).toBe(503);
      expect(response.headers.get("Content-Type"), path).toMatch(/^application\/json/);
      expect(await response.json(), path).toEqual(expected);
    }
    // One log line for the configuration, naming the variable and its value.
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]).toEqual([
      'server misconfigured, every request is refused until it is fixed: SEND_RATE_PER_SECOND must be a positive integer (got "abc")',
    ]);
  });

  it("never shows the secret, in the answer or in the log", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const short = "a-secret-that-is-far-too-short";
    const response = await fetchWith({ ...env, JWT_SECRET: short } as unknown as Env, "/health");
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(body).toContain("JWT_SECRET must be at least 32 characters long");
    expect(body).not.toContain(short);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0])).toContain("JWT_SECRET");
    expect(String(errors.mock.calls[0])).not.toContain(short);
  });

  it("answers as before when the settings are good", async () => {
    const response = await fetchWith({ ...env }, "/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ code: 0, message: "OK", data: { status: "healthy" } });
  });
});
