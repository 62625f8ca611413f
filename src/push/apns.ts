// APNs with token-based authentication: a provider token (an ES256 JWT with the key id as `kid`, the
// team id as `iss` and `iat`), reused for 50 minutes (Apple refuses one older than an hour and one
// renewed more than once every 20 minutes), then POST /3/device/<token> with apns-topic (the bundle
// id), apns-push-type alert, apns-priority 10, apns-expiration and apns-collapse-id.
// 410 Unregistered, and 400 BadDeviceToken or DeviceTokenNotForTopic, mean the token is dead.
import { importPKCS8, SignJWT, type CryptoKey } from "jose";
import type { ApnsSettings } from "../config/push-settings";
import type { PushDevice } from "./devices";
import { PROVIDER_TIMEOUT_MS } from "./limits";
import type { Notification } from "./notification";
import { outcomeOfStatus, unreachable, type SendOutcome } from "./outcome";

const TOKEN_REUSE_MS = 50 * 60 * 1000;
/** How long APNs keeps trying to reach an offline phone (seconds). */
const EXPIRATION_SECONDS = 24 * 60 * 60;

let cached: { keyId: string; teamId: string; token: string; issuedAt: number } | null = null;
let cachedKey: { pem: string; key: CryptoKey } | null = null;

async function providerToken(settings: ApnsSettings, now: number): Promise<string> {
  if (
    cached &&
    cached.keyId === settings.keyId &&
    cached.teamId === settings.teamId &&
    now - cached.issuedAt < TOKEN_REUSE_MS
  )
    return cached.token;
  if (cachedKey?.pem !== settings.privateKey)
    cachedKey = { pem: settings.privateKey, key: await importPKCS8(settings.privateKey, "ES256") };
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: settings.keyId })
    .setIssuer(settings.teamId)
    .setIssuedAt(Math.floor(now / 1000))
    .sign(cachedKey.key);
  cached = { keyId: settings.keyId, teamId: settings.teamId, token, issuedAt: now };
  return token;
}

/** The aps dictionary and the app's own keys. */
export function apnsPayload(n: Notification): Record<string, unknown> {
  return {
    aps: {
      alert: n.body ? { title: n.title, body: n.body } : { title: n.title },
      badge: n.badge,
      sound: "default",
      "thread-id": n.conversationId,
    },
    conversationID: n.conversationId,
    conversationType: n.conversationType,
    seq: n.seq,
    count: n.count,
  };
}

export async function sendApns(
  settings: ApnsSettings,
  device: PushDevice,
  n: Notification,
): Promise<SendOutcome> {
  const now = Date.now();
  const origin = device.sandbox ? settings.sandboxUrl : settings.url;
  let response: Response;
  try {
    response = await fetch(`${origin.replace(/\/$/, "")}/3/device/${encodeURIComponent(device.token)}`, {
      method: "POST",
      headers: {
        authorization: `bearer ${await providerToken(settings, now)}`,
        "apns-topic": device.appId,
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-expiration": String(Math.floor(now / 1000) + EXPIRATION_SECONDS),
        "apns-collapse-id": n.collapseId,
        "content-type": "application/json",
      },
      body: JSON.stringify(apnsPayload(n)),
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    return unreachable(error);
  }
  if (response.ok) {
    await response.body?.cancel();
    return { kind: "sent" };
  }
  const reason = await apnsReason(response);
  if (
    response.status === 410 ||
    (response.status === 400 && (reason === "BadDeviceToken" || reason === "DeviceTokenNotForTopic"))
  )
    return { kind: "dead", reason };
  if (response.status === 403 && (reason === "ExpiredProviderToken" || reason === "InvalidProviderToken")) {
    cached = null; // a new token on the next try
    return { kind: "retry", reason, status: 403 };
  }
  return outcomeOfStatus(response.status, reason);
}

/** APNs's `{"reason": "..."}`, bounded; "" when there is none. */
async function apnsReason(response: Response): Promise<string> {
  try {
    const text = (await response.text()).slice(0, 1000);
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === "string" ? reason.slice(0, 64) : "";
  } catch {
    return "";
  }
}
