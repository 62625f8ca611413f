// How a team's receiver checks a call from this server (docs/WEBHOOKS.md, "Verifying the
// signature"): HMAC-SHA256 with the shared secret over `<t>.<raw body>`, compared in constant time,
// and a `t` within 5 minutes. The loopback receivers of the webhook and push tests all check it so.
import { createHmac, timingSafeEqual } from "node:crypto";

export function signedBy(secret: string, raw: string, header: string | string[] | undefined): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header ?? ""));
  if (!match) return false;
  const [, t, v1] = match as unknown as [string, string, string];
  if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, "hex"));
}
