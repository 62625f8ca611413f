// Settings read from the environment ([vars] in wrangler.toml, secrets), parsed once with defaults.
import { DEFAULT_UPLOAD_MAX_BYTES } from "../files/limits";
import { DEFAULT_MESSAGE_MAX_BYTES } from "../protocol/limits";

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

/** Who may see a user's presence (ONLINE_STATUS_REQ): their friends only (the default) or anyone. */
export const PresenceVisibleTo = { friends: "friends", everyone: "everyone" } as const;
export type PresenceVisibleTo = (typeof PresenceVisibleTo)[keyof typeof PresenceVisibleTo];

export interface Settings {
  jwtSecret: string;
  bcryptCost: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  messageMaxBytes: number;
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
}

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function flag(value: string | undefined): boolean {
  return value === "true" || value === "1";
}

/** Minimum secret length: an HS256 key shorter than 32 bytes is guessable offline. */
const MIN_SECRET_LENGTH = 32;

export function readSettings(env: Env): Settings {
  const jwtSecret = env.JWT_SECRET;
  if (typeof jwtSecret !== "string" || jwtSecret.length < MIN_SECRET_LENGTH) {
    throw new Error(`JWT_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters`);
  }
  return {
    jwtSecret,
    bcryptCost: positiveInt(env.BCRYPT_COST, 10),
    accessTokenTtlSeconds: positiveInt(env.ACCESS_TOKEN_TTL_SECONDS, 2_592_000),
    refreshTokenTtlSeconds: positiveInt(env.REFRESH_TOKEN_TTL_SECONDS, 2_592_000),
    messageMaxBytes: positiveInt(env.MESSAGE_MAX_BYTES, DEFAULT_MESSAGE_MAX_BYTES),
    sendRatePerSecond: positiveInt(env.SEND_RATE_PER_SECOND, 20),
    sendBurst: positiveInt(env.SEND_BURST, 50),
    socketRequestsPerSecond: positiveInt(env.SOCKET_REQUESTS_PER_SECOND, 50),
    socketRequestBurst: positiveInt(env.SOCKET_REQUEST_BURST, 100),
    groupMaxMembers: positiveInt(env.GROUP_MAX_MEMBERS, 2000),
    groupReceiptMaxMembers: positiveInt(env.GROUP_RECEIPT_MAX_MEMBERS, 100),
    uploadMaxBytes: positiveInt(env.UPLOAD_MAX_BYTES, DEFAULT_UPLOAD_MAX_BYTES),
    uploadRequireToken: flag(env.UPLOAD_REQUIRE_TOKEN),
    uploadAnonPerMinute: positiveInt(env.UPLOAD_ANON_PER_MINUTE, 30),
    uploadAnonBytesPerHour: positiveInt(env.UPLOAD_ANON_BYTES_PER_HOUR, 1024 ** 3),
    uploadUserPerMinute: positiveInt(env.UPLOAD_USER_PER_MINUTE, 60),
    uploadUserBytesPerHour: positiveInt(env.UPLOAD_USER_BYTES_PER_HOUR, 2 * 1024 ** 3),
    devicePolicy:
      Object.values(DevicePolicy).find((p) => p === env.DEVICE_POLICY) ?? DevicePolicy.perPlatform,
    friendRequestsPerHour: positiveInt(env.FRIEND_REQUESTS_PER_HOUR, 60),
    friendRequestCooldownSeconds: positiveInt(env.FRIEND_REQUEST_COOLDOWN_SECONDS, 86_400),
    presenceVisibleTo:
      Object.values(PresenceVisibleTo).find((p) => p === env.PRESENCE_VISIBLE_TO) ??
      PresenceVisibleTo.friends,
  };
}
