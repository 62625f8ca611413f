// The consumer of PUSH_QUEUE and of its dead-letter queue. For each job: the user's devices whose
// login session still stands (D1), less those the job already reached (its delivery records), each
// sent through its provider; a sent device is recorded at once, a dead token deleted. A job with a
// device worth another try is retried with backoff (PUSH_RETRY_BASE_SECONDS, doubling, the queue's
// max_retries); a job done with is confirmed to the user's object, which then forgets it. A job that
// ran out of retries reaches the dead-letter queue: logged, counted, and confirmed too (given up).
import { readSettings } from "../config/settings";
import type { PushSettings } from "../config/push-settings";
import { mapLimited } from "../lib/map-limited";
import { logEvent } from "../observability/log";
import { countMetric, Metric, useMetrics } from "../observability/metrics";
import { sendApns } from "./apns";
import {
  activeDevices,
  claimDelivery,
  deleteDevice,
  deliveredDevices,
  pruneDeliveries,
  PushProvider,
  recordDelivery,
  releaseClaim,
  type PushDevice,
} from "./devices";
import { sendFcm } from "./fcm";
import { parsePushJob, type PushJob } from "./job";
import { MAX_RETRY_DELAY_SECONDS } from "./limits";
import { notificationOf, type Notification } from "./notification";
import type { SendOutcome } from "./outcome";
import { sendPushWebhook } from "./push-webhook";

/** Seconds before the next try of a job tried `attempts` times. */
export function retryDelaySeconds(baseSeconds: number, attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
}

async function sendOne(
  push: PushSettings,
  job: PushJob,
  device: PushDevice,
  n: Notification,
): Promise<SendOutcome | null> {
  switch (device.provider) {
    case PushProvider.apns:
      return push.apns ? sendApns(push.apns, device, n) : null;
    case PushProvider.fcm:
      return push.fcm ? sendFcm(push.fcm, device, n) : null;
    case PushProvider.webhook:
      return push.webhook ? sendPushWebhook(push.webhook, job, device, n) : null;
  }
}

/** Sends the job to every device it has not reached; whether any is worth another try, and how many devices are left. */
/** Whether a device is worth another try; how many devices the user had left when looked at, and when. */
interface Delivered {
  retry: boolean;
  /** Not before this (another copy's claim lapses then); 0: the backoff alone. */
  retryAt?: number;
  devices: number | null;
  checkedAt: number;
}

/** Jobs of one batch sent at once: each waits mostly on its providers. */
const JOBS_AT_ONCE = 5;

/** A job older than this when it is handled is asked about again (a redelivery from the outbox). */
const STALE_AFTER_MS = 30_000;

/**
 * A job tried before, or made a while ago (put on the queue again by the user's object): the user's
 * object says whether it is still wanted, and the badge, count and preview as they are now. Null:
 * not wanted (logged and counted).
 */
async function current(env: Env, job: PushJob, attempts: number): Promise<PushJob | null> {
  if (attempts < 2 && Date.now() - job.createdAt < STALE_AFTER_MS) return job;
  const now = await env.USER_OBJECT.getByName(job.userId).pushRecheck(
    job.id,
    job.conversationId,
    job.seq,
    job.preview,
  );
  if (!now.wanted) {
    logEvent("info", "push_stale", {
      userId: job.userId,
      conversationId: job.conversationId,
      seq: job.seq,
      reason: now.reason,
    });
    countMetric(Metric.pushSkipped, 1, now.reason);
    return null;
  }
  return { ...job, badge: now.badge, count: now.count, preview: job.preview === null ? null : now.preview };
}

async function deliver(env: Env, push: PushSettings, queued: PushJob, attempts: number): Promise<Delivered> {
  const checkedAt = Date.now();
  const job = await current(env, queued, attempts);
  if (!job) return { retry: false, devices: null, checkedAt };
  const devices = await activeDevices(env.DB, job.userId);
  if (devices.length === 0) return { retry: false, devices: 0, checkedAt };
  const reached = await deliveredDevices(env.DB, job.id);
  const waiting = devices.filter((d) => !reached.has(d.id));
  if (waiting.length === 0) return { retry: false, devices: devices.length, checkedAt };
  const n = await notificationOf(env.DB, job);
  let retry = false;
  let retryAt = 0;
  let left = devices.length;
  const fields = { userId: job.userId, conversationId: job.conversationId, seq: job.seq };
  for (const device of waiting) {
    const claimedAt = Date.now();
    const heldUntil = await claimDelivery(env.DB, job.id, device.id, claimedAt);
    if (heldUntil === 0) continue; // another copy has just sent it
    if (heldUntil !== null) {
      // Another copy of the job is sending to it: this one looks again once that claim lapses (sent
      // by then, or released, or its consumer died mid-send), so a copy that died loses nothing.
      retry = true;
      retryAt = Math.max(retryAt, heldUntil);
      logEvent("info", "push_claimed_elsewhere", { ...fields, provider: device.provider });
      continue;
    }
    const started = Date.now();
    let outcome: SendOutcome | null;
    try {
      outcome = await sendOne(push, job, device, n);
    } catch (error) {
      await releaseClaim(env.DB, job.id, device.id, claimedAt);
      throw error;
    }
    const ms = Date.now() - started;
    if (outcome === null) {
      await releaseClaim(env.DB, job.id, device.id, claimedAt);
      logEvent("warn", "push_provider_off", { ...fields, provider: device.provider });
      continue;
    }
    switch (outcome.kind) {
      case "sent":
        await recordDelivery(env.DB, job.id, device.id);
        logEvent("info", "push_sent", {
          ...fields,
          provider: device.provider,
          count: job.count,
          delayMs: ms,
        });
        countMetric(Metric.pushSent, 1, device.provider, ms);
        break;
      case "dead":
        await deleteDevice(env.DB, device);
        await releaseClaim(env.DB, job.id, device.id, claimedAt);
        left--;
        logEvent("info", "push_token_dead", { ...fields, provider: device.provider, reason: outcome.reason });
        countMetric(Metric.pushDeadTokens, 1, device.provider);
        break;
      case "failed":
        // Another try would fail the same way: recorded as done for this job, not retried.
        await recordDelivery(env.DB, job.id, device.id);
        logEvent("error", "push_refused", {
          ...fields,
          provider: device.provider,
          code: outcome.status,
          reason: outcome.reason,
        });
        countMetric(Metric.pushFailed, 1, device.provider);
        break;
      case "retry":
        retry = true;
        await releaseClaim(env.DB, job.id, device.id, claimedAt);
        logEvent("warn", "push_send_failed", {
          ...fields,
          provider: device.provider,
          code: outcome.status,
          reason: outcome.reason,
        });
        countMetric(Metric.pushRetried, 1, device.provider);
        break;
    }
  }
  return { retry, retryAt, devices: left, checkedAt };
}

/** Tells the user's object it may forget the job (and whether any device is left to push to). */
async function settle(env: Env, job: PushJob, devices: number | null, checkedAt: number): Promise<void> {
  try {
    await env.USER_OBJECT.getByName(job.userId).pushSettled(job.id, devices, checkedAt);
  } catch (error) {
    // The object puts the job on the queue again later; the delivery records make that send nothing.
    logEvent("warn", "push_settle_failed", { userId: job.userId, conversationId: job.conversationId }, error);
  }
}

let batches = 0;

export async function consumePushBatch(batch: MessageBatch, env: Env): Promise<void> {
  useMetrics(env);
  const push = readSettings(env).push;
  // Now and then, not on every batch: the records of a day-old job are no longer needed.
  if (batches++ % 50 === 0) await pruneDeliveries(env.DB, Date.now());
  // A job twice in one batch (a Queues duplicate, a redelivery): the first copy is the one handled.
  const seen = new Set<string>();
  await mapLimited(batch.messages, JOBS_AT_ONCE, async (message) => {
    const job = parsePushJob(message.body);
    if (!job) {
      logEvent("error", "push_job_invalid", { attempt: message.attempts });
      message.ack();
      return;
    }
    if (seen.has(job.id)) {
      message.ack();
      return;
    }
    seen.add(job.id);
    let result: Delivered;
    try {
      result = await deliver(env, push, job, message.attempts);
    } catch (error) {
      // D1 unreachable, say: the whole job again later.
      logEvent(
        "warn",
        "push_job_failed",
        { userId: job.userId, conversationId: job.conversationId, attempt: message.attempts },
        error,
      );
      result = { retry: true, devices: null, checkedAt: Date.now() };
    }
    if (result.retry) {
      const delaySeconds = Math.max(
        retryDelaySeconds(push.retryBaseSeconds, message.attempts),
        Math.ceil(((result.retryAt ?? 0) - Date.now()) / 1000),
      );
      message.retry({ delaySeconds });
      logEvent("info", "push_retry_scheduled", {
        userId: job.userId,
        conversationId: job.conversationId,
        attempt: message.attempts,
        delayMs: delaySeconds * 1000,
      });
      return;
    }
    message.ack();
    await settle(env, job, result.devices, result.checkedAt);
  });
}

/** Jobs that ran out of retries: logged (never their content), counted, and given up. */
export async function consumePushDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
  useMetrics(env);
  for (const message of batch.messages) {
    const job = parsePushJob(message.body);
    if (job) {
      logEvent("error", "push_dead_lettered", {
        userId: job.userId,
        conversationId: job.conversationId,
        seq: job.seq,
        attempt: message.attempts,
      });
      await settle(env, job, null, Date.now());
    } else logEvent("error", "push_dead_lettered", { reason: "not a push job" });
    countMetric(Metric.pushDeadLettered, 1);
    message.ack();
  }
}
