// The Worker's queue() entry: each batch goes to the consumer of the queue it came from. Queue
// names are wrangler.toml's (one place to add a queue's consumer); a batch from a queue nobody
// consumes is logged and left to retry, never dropped silently.
import { consumePushBatch, consumePushDeadLetters } from "../push/consumer";
import { logEvent } from "../observability/log";

type Consumer = (batch: MessageBatch, env: Env) => Promise<void>;

/** Queue name → consumer. An environment's queues may carry a suffix ("edge-im-push-staging"). */
const CONSUMERS: readonly (readonly [prefix: string, consumer: Consumer])[] = [
  // The dead-letter queue first: its name starts with the main queue's.
  ["edge-im-push-dlq", consumePushDeadLetters],
  ["edge-im-push", consumePushBatch],
];

export async function handleQueue(batch: MessageBatch, env: Env): Promise<void> {
  const consumer = CONSUMERS.find(([prefix]) => batch.queue.startsWith(prefix))?.[1];
  if (!consumer) {
    logEvent("error", "queue_unknown", { reason: batch.queue.slice(0, 100), count: batch.messages.length });
    batch.retryAll();
    return;
  }
  await consumer(batch, env);
}
