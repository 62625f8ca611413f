// The Queues this Worker consumes, by name: they must match wrangler.toml's [[queues.consumers]]
// (test/node/webhook-events-e2e.test.ts checks). No imports, so a Node test can read them.
export const QueueName = {
  webhooks: "edge-im-webhooks",
  webhookDeadLetters: "edge-im-webhooks-dlq",
  push: "edge-im-push",
  pushDeadLetters: "edge-im-push-dlq",
} as const;
