// The webhook Queue's consumer: posts each event to WEBHOOK_URL, signed at the moment it is sent
// (signature.ts), and acks it once the receiver answers 2xx. Anything else (an error status, no
// answer within DELIVERY_TIMEOUT_MS, no connection) retries it after a delay that doubles from
// WEBHOOK_RETRY_DELAY_SECONDS up to an hour, longer if the receiver's Retry-After asks; after the
// consumer's max_retries (wrangler.toml) the Queue moves it to the dead-letter queue
// (dead-letters.ts). It runs apart from every conversation: a receiver that hangs or fails holds
// only its own deliveries.
import { readSettings, type WebhookSettings } from "../config/settings";
import { logEvent } from "../observability/log";
import { countMetric, Metric } from "../observability/metrics";
import type { WebhookEvent } from "./events";
import { ATTEMPT_HEADER, EVENT_HEADER, EVENT_ID_HEADER, signedJsonHeaders } from "./signature";

/** How long one delivery waits for the receiver's answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** The longest delay between two attempts. */
const MAX_RETRY_DELAY_SECONDS = 3_600;

/** The delay before attempt `attempts + 1`: the base doubled per attempt, or the receiver's wish. */
export function retryDelaySeconds(
  hook: WebhookSettings,
  attempts: number,
  retryAfter: string | null,
): number {
  const doubled = hook.retryDelaySeconds * 2 ** Math.max(0, attempts - 1);
  const asked = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : 0;
  return Math.min(Math.max(doubled, asked), MAX_RETRY_DELAY_SECONDS);
}

type Outcome = { ok: true } | { ok: false; status: number; retryAfter: string | null; error?: unknown };

/** One attempt: the signed POST and what came of it. */
async function post(hook: WebhookSettings, event: WebhookEvent, attempt: number): Promise<Outcome> {
  const body = JSON.stringify(event);
  try {
    const response = await fetch(hook.url, {
      method: "POST",
      headers: await signedJsonHeaders(hook.secret, body, {
        [EVENT_HEADER]: event.event,
        [EVENT_ID_HEADER]: event.eventID,
        [ATTEMPT_HEADER]: String(attempt),
      }),
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.body?.cancel(); // nothing in the answer is read but its status
    if (response.ok) return { ok: true };
    return { ok: false, status: response.status, retryAfter: response.headers.get("Retry-After") };
  } catch (error) {
    return { ok: false, status: 0, retryAfter: null, error };
  }
}

/** Delivers one batch from the webhook Queue; every message is acked or retried, none is left. */
export async function deliverWebhooks(batch: MessageBatch<WebhookEvent>, env: Env): Promise<void> {
  const hook = readSettings(env).webhook;
  await Promise.all(
    batch.messages.map(async (message) => {
      const event = message.body;
      // Turned off since it was queued: nobody wants it any more.
      if (!hook || !hook.events.has(event.event)) {
        logEvent("warn", "webhook_dropped", { reason: "event_off", target: event.eventID });
        message.ack();
        return;
      }
      const outcome = await post(hook, event, message.attempts);
      if (outcome.ok) {
        countMetric(Metric.webhookDeliveries, 1, "delivered", message.attempts);
        message.ack();
        return;
      }
      const delaySeconds = retryDelaySeconds(hook, message.attempts, outcome.retryAfter);
      countMetric(Metric.webhookDeliveries, 1, "retried", message.attempts);
      logEvent(
        "warn",
        "webhook_delivery_failed",
        {
          reason: event.event,
          target: event.eventID,
          code: outcome.status,
          attempt: message.attempts,
          delayMs: delaySeconds * 1000,
        },
        outcome.error,
      );
      message.retry({ delaySeconds });
    }),
  );
}
