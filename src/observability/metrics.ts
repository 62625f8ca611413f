// Metrics through Workers Analytics Engine (the METRICS dataset binding): one data point per event
// batch that matters, counted where it happens. Each point is
//   index1 = the metric's name (Analytics Engine samples per index, so each metric keeps its own
//            share), blob1 = the name again, blob2 = one dimension (a code, a command, a platform),
//   double1 = how many events the point stands for, double2 = a value (milliseconds, bytes).
// so a dashboard sums double1 (times _sample_interval) by blob1 and blob2, and averages or takes
// quantiles of double2 (docs/OPERATIONS.md has the queries). Points are written at natural batch
// points (one per send call, per delivery call, per D1 batch), not per message where a call carries
// several. Without the binding (a deployment that leaves it out; tests), nothing is written and
// nothing fails: metrics are never on a message's critical path.

import { ConversationType } from "../protocol/conversation-id";

export const Metric = {
  messagesSent: "messages_sent",
  messagesDelivered: "messages_delivered",
  socketsOpened: "sockets_opened",
  socketsClosed: "sockets_closed",
  refusals: "refusals",
  syncMessages: "sync_messages",
  historyWritten: "history_written",
  historyLag: "history_lag_ms",
  historyFailures: "history_failures",
  /** Webhook events by outcome: delivered, retried, dead_letter (value: the attempt). */
  webhookDeliveries: "webhook_deliveries",
  /** Push (src/push/): jobs queued (dimension "new" or "redelivered"), notifications not made and why. */
  pushEnqueued: "push_enqueued",
  pushSkipped: "push_skipped",
  /** Per device and provider: sent (value: the call's milliseconds), retried, dead tokens, failures. */
  pushSent: "push_sent",
  pushRetried: "push_retried",
  pushDeadTokens: "push_dead_tokens",
  pushFailed: "push_failed",
  pushDeadLettered: "push_dead_lettered",
} as const;
export type MetricName = (typeof Metric)[keyof typeof Metric];

/** Built once: a kind is named on every send and delivery call. */
const KIND_NAMES = new Map<number, string>(
  Object.entries(ConversationType).map(([name, type]) => [type, name]),
);

/** A conversation type as a dimension: "single", "group", "chatroom", "system". */
export function conversationKind(type: number): string {
  return KIND_NAMES.get(type) ?? String(type);
}

let dataset: AnalyticsEngineDataset | undefined;

/**
 * Takes the isolate's METRICS binding: called where an env arrives (each object's constructor, the
 * Worker's first middleware); every env of one isolate carries the same binding.
 */
export function useMetrics(env: { METRICS?: AnalyticsEngineDataset }): void {
  dataset ??= env.METRICS;
}

/** Records `count` events of `metric`, with one dimension and a value. Never throws. */
export function countMetric(metric: MetricName, count: number, dimension = "", value = 0): void {
  if (!dataset || count <= 0) return;
  try {
    dataset.writeDataPoint({ indexes: [metric], blobs: [metric, dimension], doubles: [count, value] });
  } catch {
    // A metric lost is better than a failed send: Analytics Engine refuses only malformed points.
  }
}

/** The binding in use (tests swap in one that records). */
export function metricsDataset(): AnalyticsEngineDataset | undefined {
  return dataset;
}

/** Replaces the binding (tests); returns the one it replaced. */
export function replaceMetricsDataset(
  next: AnalyticsEngineDataset | undefined,
): AnalyticsEngineDataset | undefined {
  const previous = dataset;
  dataset = next;
  return previous;
}
