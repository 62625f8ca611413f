// FCM HTTP v1: an OAuth 2.0 access token from the service account (an RS256 JWT assertion with
// iss = client_email, scope firebase.messaging, aud = token_uri, iat and exp, exchanged at token_uri
// with grant_type jwt-bearer), kept until a minute before it expires; then
// POST /v1/projects/<project>/messages:send with `Authorization: Bearer`. A 404, or an error whose
// details say UNREGISTERED, means the token is dead.
import { importPKCS8, SignJWT, type CryptoKey } from "jose";
import type { FcmSettings } from "../config/push-settings";
import type { PushDevice } from "./devices";
import { PROVIDER_TIMEOUT_MS } from "./limits";
import type { Notification } from "./notification";
import { outcomeOfStatus, unreachable, type SendOutcome } from "./outcome";

const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";

let cached: { email: string; token: string; expiresAt: number } | null = null;
let cachedKey: { pem: string; key: CryptoKey } | null = null;

class TokenRefused extends Error {
  constructor(readonly status: number) {
    super(`token endpoint answered ${status}`);
    this.name = "TokenRefused";
  }
}

async function accessToken(settings: FcmSettings, now: number): Promise<string> {
  const account = settings.account;
  if (cached && cached.email === account.clientEmail && now < cached.expiresAt - 60_000) return cached.token;
  if (cachedKey?.pem !== account.privateKey)
    cachedKey = { pem: account.privateKey, key: await importPKCS8(account.privateKey, "RS256") };
  const iat = Math.floor(now / 1000);
  const assertion = await new SignJWT({ scope: SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(account.clientEmail)
    .setAudience(account.tokenUri)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(cachedKey.key);
  const response = await fetch(account.tokenUri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString(),
    signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new TokenRefused(response.status);
  }
  const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== "string") throw new TokenRefused(502);
  const lifetime = typeof body.expires_in === "number" ? body.expires_in : 3600;
  cached = { email: account.clientEmail, token: body.access_token, expiresAt: now + lifetime * 1000 };
  return body.access_token;
}

export function fcmMessage(token: string, n: Notification): Record<string, unknown> {
  return {
    message: {
      token,
      notification: n.body ? { title: n.title, body: n.body } : { title: n.title },
      // Data values must be strings.
      data: {
        conversationID: n.conversationId,
        conversationType: String(n.conversationType),
        seq: String(n.seq),
        count: String(n.count),
      },
      android: {
        collapse_key: n.collapseId,
        priority: "high",
        notification: { tag: n.collapseId, notification_count: n.count },
      },
      apns: {
        headers: { "apns-collapse-id": n.collapseId, "apns-priority": "10" },
        payload: { aps: { badge: n.badge, sound: "default", "thread-id": n.conversationId } },
      },
    },
  };
}

export async function sendFcm(
  settings: FcmSettings,
  device: PushDevice,
  n: Notification,
): Promise<SendOutcome> {
  let response: Response;
  try {
    const token = await accessToken(settings, Date.now());
    const url = `${settings.url.replace(/\/$/, "")}/v1/projects/${encodeURIComponent(device.appId)}/messages:send`;
    response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(fcmMessage(device.token, n)),
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    if (error instanceof TokenRefused)
      return outcomeOfStatus(
        error.status >= 500 || error.status === 429 ? error.status : 503,
        "token_refused",
      );
    return unreachable(error);
  }
  if (response.ok) {
    await response.body?.cancel();
    return { kind: "sent" };
  }
  const code = await fcmErrorCode(response);
  if (response.status === 404 || code === "UNREGISTERED")
    return { kind: "dead", reason: code || "NOT_FOUND" };
  if (response.status === 401) {
    cached = null; // a new access token on the next try
    return { kind: "retry", reason: code || "UNAUTHENTICATED", status: 401 };
  }
  return outcomeOfStatus(response.status, code);
}

/** The FcmError code in the error's details, else the error's status ("INVALID_ARGUMENT"), bounded. */
async function fcmErrorCode(response: Response): Promise<string> {
  try {
    const body = JSON.parse((await response.text()).slice(0, 10_000)) as {
      error?: { status?: unknown; details?: { errorCode?: unknown }[] };
    };
    const detail = body.error?.details?.find((d) => typeof d.errorCode === "string")?.errorCode;
    const code = typeof detail === "string" ? detail : body.error?.status;
    return typeof code === "string" ? code.slice(0, 64) : "";
  } catch {
    return "";
  }
}
