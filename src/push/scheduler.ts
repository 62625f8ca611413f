// The producer side of push, in the user's object: a message that reaches a user with no live socket
// becomes a pending notification for its conversation; more messages within PUSH_DEBOUNCE_MS join it
// (a burst of 50 is one notification with a count). When it is due, the object's alarm checks again
// (still offline? conversation muted or read since? do-not-disturb? the per-minute cap?) and turns it
// into a job: the job is written to the outbox in the same transaction that drops the pending row,
// then put on PUSH_QUEUE. The consumer confirms each job it has finished with (`settle`); a job not
// confirmed within PUSH_REDELIVER_SECONDS (its queue message lost, the consumer crashed) is put on
// the queue again, at most MAX_REDELIVERIES times, and the consumer's delivery records make the
// repeat send nothing a device already has. So a crash anywhere between the message and the
// provider's answer ends in one push, not none.
import type { PushSettings } from "../config/push-settings";
import { pb } from "../protocol/codec";
import { ConversationType } from "../protocol/conversation-id";
import type { DeliveredMessage } from "../objects/message";
import type { Inbox } from "../objects/user/inbox";
import { migrate } from "../objects/sql-migrations";
import { logEvent } from "../observability/log";
import { countMetric, Metric } from "../observability/metrics";
import { parsePushJob, PUSH_JOB_VERSION, pushJobId, type PushJob } from "./job";
import { MAX_OUTBOX_JOBS, MAX_REDELIVERIES, PREVIEW_MAX_CHARS } from "./limits";
import type { PushPreferences } from "./preferences";
import { inQuietHours } from "./quiet-hours";

const SCHEMA = [
  `CREATE TABLE push_pending (
     conversation_id TEXT PRIMARY KEY,
     conversation_type INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     sender_id TEXT NOT NULL,
     message_type INTEGER NOT NULL,
     preview TEXT,
     due_at INTEGER NOT NULL
   )`,
  `CREATE TABLE push_outbox (
     job_id TEXT PRIMARY KEY,
     job TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     enqueued_at INTEGER NOT NULL,
     enqueues INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE TABLE push_window (id INTEGER PRIMARY KEY CHECK (id = 1), started_at INTEGER NOT NULL, sent INTEGER NOT NULL)`,
  `INSERT INTO push_window (id, started_at, sent) VALUES (1, 0, 0)`,
];

const WINDOW_MS = 60_000;

const utf8 = new TextEncoder();

/** What a notification shows in place of a message revoked before it went out. */
export const REVOKED_PREVIEW = "[Message revoked]";

/** Message types that make no notification: notices (a member joined, a group renamed). */
const SILENT_TYPES: ReadonlySet<number> = new Set([8]);

const MEDIA_LABELS: Record<number, string> = {
  2: "[Image]",
  3: "[Voice]",
  4: "[Video]",
  5: "[File]",
  6: "[Location]",
  7: "[Contact card]",
};

interface PendingRow extends Record<string, SqlStorageValue> {
  conversation_id: string;
  conversation_type: number;
  seq: number;
  sender_id: string;
  message_type: number;
  preview: string | null;
  due_at: number;
}

interface OutboxRow extends Record<string, SqlStorageValue> {
  job_id: string;
  job: string;
  enqueued_at: number;
  enqueues: number;
}

/** What the user's object says of a job sent again: skip it, or send it with what is true now. */
export type PushRecheck =
  { wanted: false; reason: string } | { wanted: true; badge: number; preview: string | null; count: number };

export interface PushSchedulerParts {
  storage: DurableObjectStorage;
  env: Env;
  inbox: Inbox;
  prefs: PushPreferences;
  settings: () => PushSettings;
  userId: () => string;
}

/** What a message shows: its text cut short, or its kind. */
function previewOf(messageType: number, content: Uint8Array | null | undefined): string {
  if (messageType === 1) {
    const text = new TextDecoder()
      .decode(content ?? new Uint8Array())
      .replace(/\s+/g, " ")
      .trim();
    const chars = [...text];
    return chars.length > PREVIEW_MAX_CHARS ? `${chars.slice(0, PREVIEW_MAX_CHARS - 1).join("")}…` : text;
  }
  return MEDIA_LABELS[messageType] ?? "[Message]";
}

/** The message mentions the user: by name, or @all. */
function mentions(m: DeliveredMessage, userId: string): boolean {
  return m.mentionAll === true || (m.mentionUserIds?.includes(userId) ?? false);
}

/**
 * A muted conversation's notification still goes when it is of a mention the user has not read:
 * a mention is the one thing a mute lets through (note() pends only mentions while muted).
 */
function mentionUnread(entry: { mentionSeq: number; readSeq: number }, seq: number): boolean {
  return entry.mentionSeq >= seq && entry.mentionSeq > entry.readSeq;
}

/** Queues' bounds on one sendBatch call: 100 messages, 256 KB in all (a margin kept for overhead). */
export const QUEUE_BATCH_MESSAGES = 100;
export const QUEUE_BATCH_BYTES = 240_000;

/**
 * `items` in order, cut into chunks of at most QUEUE_BATCH_MESSAGES items and QUEUE_BATCH_BYTES
 * (as `bytesOf` counts them; an item over it alone is a chunk of its own).
 */
export function queueChunks<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (chunk.length > 0 && (chunk.length >= QUEUE_BATCH_MESSAGES || bytes + size > QUEUE_BATCH_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export class PushScheduler {
  private readonly sql: SqlStorage;

  constructor(private readonly parts: PushSchedulerParts) {
    this.sql = parts.storage.sql;
    migrate(this.sql, "push_scheduler", SCHEMA);
  }

  /**
   * New messages reached the user while no device was online: they join the conversation's pending
   * notification. Returns when it is due (0: nothing to do: no device registered, a muted
   * conversation, only the user's own or silent messages).
   */
  note(
    recipientId: string,
    conversationId: string,
    conversationType: number,
    fresh: DeliveredMessage[],
  ): number {
    if (!this.parts.prefs.hasDevices()) return 0;
    // A muted conversation notifies only of a message that mentions the user (docs/RICH-MESSAGES.md).
    // Whether it is muted is read from the inbox only when a message of someone else that does not
    // mention the user is in the way: a delivery of one's own sends, or of a mention, reads nothing.
    let muted: boolean | undefined;
    const isMuted = () => (muted ??= this.parts.inbox.isMuted(conversationId));
    let last: DeliveredMessage | undefined;
    let lastInfo: ReturnType<typeof pb.MessageInfo.decode> | undefined;
    for (let i = fresh.length - 1; i >= 0 && !last; i--) {
      const m = fresh[i] as DeliveredMessage;
      if (m.senderId === recipientId) continue;
      if (!mentions(m, recipientId) && isMuted()) continue;
      const info = pb.MessageInfo.decode(m.info);
      if (SILENT_TYPES.has(info.messageType ?? 0) || info.isRevoked) continue;
      last = m;
      lastInfo = info;
    }
    if (!last || !lastInfo) {
      if (muted === true) countMetric(Metric.pushSkipped, 1, "muted");
      return 0;
    }
    const dueAt = Date.now() + this.parts.settings().debounceMs;
    const messageType = lastInfo.messageType ?? 0;
    this.sql.exec(
      `INSERT INTO push_pending (conversation_id, conversation_type, seq, sender_id, message_type, preview, due_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET
           seq = excluded.seq, sender_id = excluded.sender_id, message_type = excluded.message_type,
           preview = excluded.preview`,
      conversationId,
      conversationType,
      last.seq,
      last.senderId,
      messageType,
      previewOf(messageType, lastInfo.content),
      dueAt,
    );
    return this.nextDueAt();
  }

  /**
   * A message was revoked: a pending notification, or a job not yet confirmed, that shows it shows
   * REVOKED_PREVIEW instead (an older message of the burst is never in the preview: only the newest).
   */
  revoked(conversationId: string, seq: number): void {
    this.sql.exec(
      "UPDATE push_pending SET preview = ? WHERE conversation_id = ? AND seq = ?",
      REVOKED_PREVIEW,
      conversationId,
      seq,
    );
    const jobId = pushJobId(this.parts.userId(), conversationId, seq);
    const row = this.sql
      .exec<{ job: string }>("SELECT job FROM push_outbox WHERE job_id = ?", jobId)
      .toArray()[0];
    const job = row ? parsePushJob(JSON.parse(row.job)) : null;
    if (!job || job.preview === null) return;
    this.sql.exec(
      "UPDATE push_outbox SET job = ? WHERE job_id = ?",
      JSON.stringify({ ...job, preview: REVOKED_PREVIEW }),
      jobId,
    );
  }

  /**
   * Whether a job retried or redelivered is still wanted now (the consumer asks before sending it
   * again): not when the user came online, the conversation was muted or read since, or
   * do-not-disturb began. When it is: the badge now and
   * the job's preview as the outbox has it (a revoke since replaced the text).
   */
  recheck(
    jobId: string,
    conversationId: string,
    seq: number,
    preview: string | null,
    now: number,
    online: boolean,
  ): PushRecheck {
    const row = this.sql
      .exec<{ job: string }>("SELECT job FROM push_outbox WHERE job_id = ?", jobId)
      .toArray()[0];
    // Not in the outbox: confirmed by another copy, or given up on while its retries went on (the
    // device records still keep a second send away); the preview then is the job's own.
    const job = row ? parsePushJob(JSON.parse(row.job)) : null;
    if (online) return { wanted: false, reason: "online" };
    const entry = this.parts.inbox.entry(conversationId);
    if (!entry || (entry.muted && !mentionUnread(entry, seq))) return { wanted: false, reason: "muted" };
    if (entry.readSeq >= seq) return { wanted: false, reason: "read" };
    if (inQuietHours(this.parts.prefs.quietHours(), now)) return { wanted: false, reason: "quiet_hours" };
    return {
      wanted: true,
      badge: this.unreadTotal(),
      preview: job ? job.preview : preview,
      count: Math.max(1, entry.maxSeq - entry.readSeq),
    };
  }

  /** When the alarm is next needed for push (0: never). */
  nextDueAt(): number {
    const pending = this.sql
      .exec<{ at: number | null }>("SELECT MIN(due_at) AS at FROM push_pending")
      .one().at;
    const outbox = this.sql
      .exec<{ at: number | null }>("SELECT MIN(enqueued_at) AS at FROM push_outbox")
      .one().at;
    const redeliverMs = this.parts.settings().redeliverSeconds * 1000;
    const times = [pending ?? Infinity, outbox === null ? Infinity : outbox + redeliverMs];
    const next = Math.min(...times);
    return next === Infinity ? 0 : next;
  }

  /** The consumer is done with this job (sent, or given up): it is not put on the queue again. */
  settle(jobId: string): void {
    this.sql.exec("DELETE FROM push_outbox WHERE job_id = ?", jobId);
  }

  /**
   * The alarm's part: due notifications become jobs (or are dropped when no longer wanted), and
   * unconfirmed jobs are put on the queue again. `online`: a device is connected now.
   */
  async run(now: number, online: boolean): Promise<void> {
    const jobs = this.makeJobs(now, online);
    const again = this.redeliveries(now);
    const all = [...jobs, ...again];
    if (all.length === 0) return;
    // Written before it is sent: a crash after the send leaves a job the consumer may see twice,
    // which its delivery records absorb; a crash before leaves one redelivered later. (A new job
    // was inserted counted once already.)
    for (const job of again)
      this.sql.exec(
        "UPDATE push_outbox SET enqueued_at = ?, enqueues = enqueues + 1 WHERE job_id = ?",
        now,
        job.id,
      );
    // One call per chunk within the Queues bounds (PUSH_MAX_PER_MINUTE new jobs and up to
    // MAX_OUTBOX_JOBS redeliveries may be due at once).
    for (const chunk of queueChunks(all, (job) => utf8.encode(JSON.stringify(job)).length))
      await this.parts.env.PUSH_QUEUE.sendBatch(
        chunk.map((job) => ({ body: job, contentType: "json" as const })),
      );
    for (const job of jobs)
      logEvent("info", "push_enqueued", {
        userId: job.userId,
        conversationId: job.conversationId,
        seq: job.seq,
        count: job.count,
      });
    for (const job of again)
      logEvent("warn", "push_redelivered", {
        userId: job.userId,
        conversationId: job.conversationId,
        seq: job.seq,
      });
    countMetric(Metric.pushEnqueued, jobs.length, "new");
    countMetric(Metric.pushEnqueued, again.length, "redelivered");
  }

  private makeJobs(now: number, online: boolean): PushJob[] {
    const due = this.sql
      .exec<PendingRow>("SELECT * FROM push_pending WHERE due_at <= ? ORDER BY due_at", now)
      .toArray();
    if (due.length === 0) return [];
    const drop = (row: PendingRow, why: string) => {
      this.sql.exec("DELETE FROM push_pending WHERE conversation_id = ?", row.conversation_id);
      countMetric(Metric.pushSkipped, 1, why);
    };
    if (online) {
      // A device came back: it syncs what it missed, no notification needed.
      for (const row of due) drop(row, "online");
      return [];
    }
    const prefs = this.parts.prefs;
    if (inQuietHours(prefs.quietHours(), now)) {
      for (const row of due) drop(row, "quiet_hours");
      return [];
    }
    const window = this.sql
      .exec<{ started_at: number; sent: number }>("SELECT started_at, sent FROM push_window")
      .one();
    let started = window.started_at;
    let sent = window.sent;
    if (now - started >= WINDOW_MS) {
      started = now;
      sent = 0;
    }
    const settings = this.parts.settings();
    const userId = this.parts.userId();
    const badge = this.unreadTotal();
    const jobs: PushJob[] = [];
    for (const row of due) {
      const entry = this.parts.inbox.entry(row.conversation_id);
      if (!entry || (entry.muted && !mentionUnread(entry, row.seq))) {
        drop(row, "muted");
        continue;
      }
      if (entry.readSeq >= row.seq) {
        drop(row, "read");
        continue;
      }
      if (sent >= settings.maxPerMinute) {
        // Over the cap: it waits for the next window, and more messages keep joining it.
        this.sql.exec(
          "UPDATE push_pending SET due_at = ? WHERE conversation_id = ?",
          started + WINDOW_MS,
          row.conversation_id,
        );
        countMetric(Metric.pushSkipped, 1, "deferred");
        continue;
      }
      const showPreview = prefs.previews() && !prefs.previewHidden(row.conversation_id);
      const job: PushJob = {
        v: PUSH_JOB_VERSION,
        id: pushJobId(userId, row.conversation_id, row.seq),
        userId,
        conversationId: row.conversation_id,
        conversationType: row.conversation_type,
        senderId: row.sender_id,
        seq: row.seq,
        messageType: row.message_type,
        count: Math.max(1, entry.maxSeq - entry.readSeq),
        badge,
        preview: showPreview ? row.preview : null,
        showPreview,
        createdAt: now,
      };
      sent++;
      this.parts.storage.transactionSync(() => {
        this.sql.exec(
          `INSERT INTO push_outbox (job_id, job, created_at, enqueued_at, enqueues) VALUES (?, ?, ?, ?, 1)
           ON CONFLICT (job_id) DO NOTHING`,
          job.id,
          JSON.stringify(job),
          now,
          now,
        );
        this.sql.exec("DELETE FROM push_pending WHERE conversation_id = ?", row.conversation_id);
      });
      jobs.push(job);
    }
    this.sql.exec("UPDATE push_window SET started_at = ?, sent = ?", started, sent);
    this.trimOutbox();
    return jobs;
  }

  /** Jobs the consumer has not confirmed in time: again, or given up after MAX_REDELIVERIES. */
  private redeliveries(now: number): PushJob[] {
    const cutoff = now - this.parts.settings().redeliverSeconds * 1000;
    const rows = this.sql
      .exec<OutboxRow>(
        "SELECT job_id, job, enqueued_at, enqueues FROM push_outbox WHERE enqueued_at <= ?",
        cutoff,
      )
      .toArray();
    const jobs: PushJob[] = [];
    for (const row of rows) {
      const job = row.enqueues > MAX_REDELIVERIES ? null : parsePushJob(JSON.parse(row.job));
      if (!job) {
        this.settle(row.job_id);
        logEvent("warn", "push_abandoned", { userId: this.parts.userId(), attempt: row.enqueues });
        countMetric(Metric.pushFailed, 1, "abandoned");
        continue;
      }
      jobs.push(job);
    }
    return jobs;
  }

  /** The outbox never holds more than MAX_OUTBOX_JOBS: the oldest go (they are stale by then). */
  private trimOutbox(): void {
    const cursor = this.sql.exec(
      `DELETE FROM push_outbox WHERE job_id NOT IN (
         SELECT job_id FROM push_outbox ORDER BY created_at DESC LIMIT ?)`,
      MAX_OUTBOX_JOBS,
    );
    if (cursor.rowsWritten > 0)
      logEvent("warn", "push_outbox_trimmed", { userId: this.parts.userId(), count: cursor.rowsWritten });
  }

  /**
   * The badge: the unread total the app shows (src/web/conversations.ts, totalUnread): the unread
   * counts of the conversations in the list (not hidden), single and group chats only, muted ones
   * left out.
   */
  private unreadTotal(): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT COALESCE(SUM(MAX(max_seq - read_seq, 0)), 0) AS n FROM inbox
         WHERE hidden = 0 AND muted = 0 AND conversation_type IN (?, ?)`,
        ConversationType.single,
        ConversationType.group,
      )
      .one().n;
  }
}
