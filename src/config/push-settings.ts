// Offline push's settings (docs/PUSH.md), checked with the rest in settings.ts: the variables' rules,
// and the one shape the push code reads. A provider is on when its credentials are set: APNs with
// APNS_KEY_ID, APNS_TEAM_ID and the APNS_PRIVATE_KEY secret; FCM with the FCM_SERVICE_ACCOUNT secret;
// the team's webhook with PUSH_WEBHOOK_URL and the PUSH_WEBHOOK_SECRET secret. Plain erasable
// TypeScript with `.ts`-free imports only from zod, so scripts/dev.mjs checks the same rules.
import { z } from "zod";

export interface ApnsSettings {
  keyId: string;
  teamId: string;
  /** The .p8 key as PEM (PKCS #8). */
  privateKey: string;
  url: string;
  sandboxUrl: string;
}

/** The fields of a Google service account's JSON key that the OAuth 2.0 JWT grant needs. */
export interface FcmServiceAccount {
  projectId: string;
  clientEmail: string;
  /** PEM (PKCS #8). */
  privateKey: string;
  tokenUri: string;
}

export interface FcmSettings {
  account: FcmServiceAccount;
  /** Origin of the FCM HTTP v1 API (`/v1/projects/<project>/messages:send`). */
  url: string;
}

export interface PushSettings {
  debounceMs: number;
  maxPerMinute: number;
  retryBaseSeconds: number;
  redeliverSeconds: number;
  apns: ApnsSettings | null;
  fcm: FcmSettings | null;
  webhook: { url: string; secret: string } | null;
}

/** Push's secret variables: never shown, not even when wrong. */
export const PUSH_SECRET_VARIABLES = ["APNS_PRIVATE_KEY", "FCM_SERVICE_ACCOUNT", "PUSH_WEBHOOK_SECRET"];

const MIN_WEBHOOK_SECRET_LENGTH = 32;

/** PEM as is, or base64 of it (a PEM cannot be passed as `--var NAME:VALUE`: it starts with "-"). */
function pemOrBase64(value: string): string {
  const text = value.trim().startsWith("-----BEGIN") ? value : atob(value.trim());
  return text.replace(/\\n/g, "\n");
}

const pem = z
  .string()
  .transform((value, context) => {
    try {
      const text = pemOrBase64(value);
      if (/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/.test(text)) return text;
    } catch {
      // not base64 either
    }
    context.addIssue({ code: "custom", message: "must be a PKCS #8 PEM private key (or base64 of one)" });
    return z.NEVER;
  })
  .optional();

const ServiceAccountJson = z.object({
  project_id: z.string().min(1),
  client_email: z.string().min(1),
  private_key: z.string().includes("-----BEGIN PRIVATE KEY-----"),
  token_uri: z.url({ protocol: /^https?$/ }).default("https://oauth2.googleapis.com/token"),
});

const serviceAccount = z
  .string()
  .transform((value, context): FcmServiceAccount => {
    try {
      const text = value.trim().startsWith("{") ? value : atob(value.trim());
      const parsed = ServiceAccountJson.safeParse(JSON.parse(text));
      if (parsed.success)
        return {
          projectId: parsed.data.project_id,
          clientEmail: parsed.data.client_email,
          privateKey: parsed.data.private_key,
          tokenUri: parsed.data.token_uri,
        };
    } catch {
      // neither JSON nor base64 of it
    }
    context.addIssue({
      code: "custom",
      message: "must be a service account's JSON key (project_id, client_email, private_key) or base64 of it",
    });
    return z.NEVER;
  })
  .optional();

const url = () => z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** A whole number ≥ 0 (any Number() reads as one); `max` bounds it. */
function count(fallback: number, min: number, max: number) {
  return z
    .custom<string | number>(
      (value) =>
        (typeof value === "string" || typeof value === "number") &&
        Number.isInteger(Number(value)) &&
        Number(value) >= min &&
        Number(value) <= max,
      { error: `must be an integer from ${min} to ${max}` },
    )
    .transform(Number)
    .default(fallback);
}

/** Push's variables with their rules and defaults, spread into the settings' object schema. */
export const PUSH_VARIABLES = {
  PUSH_DEBOUNCE_MS: count(2_000, 0, 60_000),
  PUSH_MAX_PER_MINUTE: count(30, 1, 600),
  PUSH_RETRY_BASE_SECONDS: count(10, 1, 3_600),
  PUSH_REDELIVER_SECONDS: count(300, 5, 86_400),
  APNS_URL: url().default("https://api.push.apple.com"),
  APNS_SANDBOX_URL: url().default("https://api.sandbox.push.apple.com"),
  APNS_KEY_ID: z
    .string()
    .regex(/^[A-Z0-9]{10}$/, { error: "must be the 10-character key id" })
    .optional(),
  APNS_TEAM_ID: z
    .string()
    .regex(/^[A-Z0-9]{10}$/, { error: "must be the 10-character team id" })
    .optional(),
  APNS_PRIVATE_KEY: pem,
  FCM_URL: url().default("https://fcm.googleapis.com"),
  FCM_SERVICE_ACCOUNT: serviceAccount,
  PUSH_WEBHOOK_URL: url().optional(),
  PUSH_WEBHOOK_SECRET: z
    .string()
    .min(MIN_WEBHOOK_SECRET_LENGTH, {
      error: `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters long`,
    })
    .optional(),
};

type PushVariables = z.output<z.ZodObject<typeof PUSH_VARIABLES>>;

/** Half-configured providers: refused rather than silently off. */
export function checkPushVariables(
  vars: PushVariables,
  issue: (path: string, message: string) => void,
): void {
  const apns = [vars.APNS_KEY_ID, vars.APNS_TEAM_ID, vars.APNS_PRIVATE_KEY];
  if (apns.some((v) => v !== undefined) && apns.some((v) => v === undefined))
    for (const [name, value] of [
      ["APNS_KEY_ID", vars.APNS_KEY_ID],
      ["APNS_TEAM_ID", vars.APNS_TEAM_ID],
      ["APNS_PRIVATE_KEY", vars.APNS_PRIVATE_KEY],
    ] as const)
      if (value === undefined) issue(name, "must be set with the other APNS_ settings");
  if ((vars.PUSH_WEBHOOK_URL === undefined) !== (vars.PUSH_WEBHOOK_SECRET === undefined))
    issue(
      vars.PUSH_WEBHOOK_URL === undefined ? "PUSH_WEBHOOK_URL" : "PUSH_WEBHOOK_SECRET",
      "PUSH_WEBHOOK_URL and PUSH_WEBHOOK_SECRET must be set together",
    );
}

export function pushSettingsOf(vars: PushVariables): PushSettings {
  return {
    debounceMs: vars.PUSH_DEBOUNCE_MS,
    maxPerMinute: vars.PUSH_MAX_PER_MINUTE,
    retryBaseSeconds: vars.PUSH_RETRY_BASE_SECONDS,
    redeliverSeconds: vars.PUSH_REDELIVER_SECONDS,
    apns:
      vars.APNS_KEY_ID !== undefined && vars.APNS_TEAM_ID !== undefined && vars.APNS_PRIVATE_KEY !== undefined
        ? {
            keyId: vars.APNS_KEY_ID,
            teamId: vars.APNS_TEAM_ID,
            privateKey: vars.APNS_PRIVATE_KEY,
            url: vars.APNS_URL,
            sandboxUrl: vars.APNS_SANDBOX_URL,
          }
        : null,
    fcm: vars.FCM_SERVICE_ACCOUNT ? { account: vars.FCM_SERVICE_ACCOUNT, url: vars.FCM_URL } : null,
    webhook:
      vars.PUSH_WEBHOOK_URL !== undefined && vars.PUSH_WEBHOOK_SECRET !== undefined
        ? { url: vars.PUSH_WEBHOOK_URL, secret: vars.PUSH_WEBHOOK_SECRET }
        : null,
  };
}
