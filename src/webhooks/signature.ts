// A webhook's signature, so the receiver knows the call is ours and fresh: HMAC-SHA256 with the
// shared WEBHOOK_SECRET over `<unix seconds>.<body>`, sent as `X-Edge-IM-Signature: t=<unix
// seconds>,v1=<hex>` (the scheme Stripe's webhooks use). A receiver recomputes it over the raw body
// and refuses a timestamp older than a few minutes (a replay).

export const SIGNATURE_HEADER = "X-Edge-IM-Signature";
/** Which event a call carries, its id (the same on every attempt) and the attempt's number. */
export const EVENT_HEADER = "X-Edge-IM-Event";
export const EVENT_ID_HEADER = "X-Edge-IM-Event-Id";
export const ATTEMPT_HEADER = "X-Edge-IM-Attempt";

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function signatureOf(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`));
  return `t=${timestamp},v1=${hex(mac)}`;
}

/** The headers of a signed JSON POST: its type, its signature (timestamped now) and `extra`. */
export async function signedJsonHeaders(
  secret: string,
  body: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    "Content-Type": "application/json",
    ...extra,
    [SIGNATURE_HEADER]: await signatureOf(secret, Math.floor(Date.now() / 1000), body),
  };
}
