// The Worker's Queue consumers, by queue name (queue-names.ts).
import { logEvent } from "../observability/log";
import { consumePushBatch, consumePushDeadLetters } from "../push/consumer";
import { useMetrics } from "../observability/metrics";
import { keepDeadLetters } from "../webhooks/dead-letters";
import { deliverWebhooks } from "../webhooks/delivery";
import type { WebhookEvent } from "../webhooks/events";
import { QueueName } from "./queue-names";

export async function consumeQueue(batch: MessageBatch, env: Env): Promise<void> {
  useMetrics(env);
  switch (batch.queue) {
    case QueueName.webhooks:
      return deliverWebhooks(batch as MessageBatch<WebhookEvent>, env);
    case QueueName.webhookDeadLetters:
      return keepDeadLetters(batch as MessageBatch<WebhookEvent>, env);
    case QueueName.push:
      return consumePushBatch(batch, env);
    case QueueName.pushDeadLetters:
      return consumePushDeadLetters(batch, env);
    default:
      // A queue wired to this Worker by mistake: its messages retry until someone fixes the wiring.
      logEvent("error", "queue_unknown", { reason: batch.queue.slice(0, 100), count: batch.messages.length });
      batch.retryAll();
  }
}
