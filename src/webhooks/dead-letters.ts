// The webhook dead-letter queue's consumer: an event the receiver did not take after every retry is
// kept in D1 (`webhook_dead_letters`) with an error log line, where an admin finds it and sends it
// again once the receiver is fixed (/api/admin/webhooks/dead-letters, docs/ADMIN.md). If D1 fails,
// the batch is retried from the dead-letter queue every 5 minutes, about 8 hours (wrangler.toml).
import { database } from "../db/client";
import { recordDeadLetters } from "../db/webhook-dead-letters";
import { logEvent } from "../observability/log";
import { countMetric, Metric } from "../observability/metrics";
import type { WebhookEvent } from "./events";

export async function keepDeadLetters(batch: MessageBatch<WebhookEvent>, env: Env): Promise<void> {
  const rows = batch.messages.map((message) => ({
    eventId: message.body.eventID,
    event: message.body.event,
    body: JSON.stringify(message.body),
  }));
  await recordDeadLetters(database(env), rows);
  for (const row of rows) {
    logEvent("error", "webhook_dead_letter", { reason: row.event, target: row.eventId });
  }
  countMetric(Metric.webhookDeliveries, rows.length, "dead_letter");
  batch.ackAll();
}
