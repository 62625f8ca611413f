// The events a team's receiver gets after the fact (docs/WEBHOOKS.md): after_send, user_registered,
// group_changed. Each is built where it happened, once that is durable, and put on the webhook Queue
// (WEBHOOK_QUEUE), whose consumer (delivery.ts) signs it and posts it, retrying. The Queue delivers
// at least once, so every event carries an id that stays the same through retries and repeats: a
// receiver that has seen an id drops the event.
import type { WebhookEventName, WebhookSettings } from "../config/settings";
import type { GroupWrite } from "../db/groups";
import type { StoredMessage } from "../objects/message";
import { ConversationType } from "../protocol/conversation-id";
import { logEvent, type LogFields } from "../observability/log";
import { withTimeout } from "../lib/with-timeout";
import { base64 } from "./base64";

/** What goes on the Queue: the event, signed only when it is sent (the secret never sits in the Queue). */
export interface WebhookEvent {
  event: WebhookEventName;
  /** The same for every delivery of one event, so the receiver can drop repeats. */
  eventID: string;
  /** When it happened (ms since the epoch). */
  time: number;
  data: Record<string, unknown>;
}

/**
 * A Queue message holds at most 128 KB, and one sendBatch at most 100 messages and 256 KB
 * (developers.cloudflare.com/queues/platform/limits). An event whose JSON is larger goes without its
 * content (`contentOmitted`), a batch is cut below both limits.
 */
const MAX_EVENT_BYTES = 120 * 1024;
const MAX_BATCH_BYTES = 240 * 1024;
const MAX_BATCH_MESSAGES = 100;

const encoder = new TextEncoder();

/** Whether the receiver wants events of this kind. */
export function wants(hook: WebhookSettings | null, name: WebhookEventName): hook is WebhookSettings {
  return hook !== null && hook.events.has(name);
}

/** after_send: a message stored and in D1 (so the receiver can read it over the API at once). */
export function afterSendEvent(message: StoredMessage): WebhookEvent {
  const data: Record<string, unknown> = {
    conversationID: message.conversationId,
    conversationType: message.conversationType,
    seq: message.seq,
    serverMsgID: message.serverMsgId,
    clientMsgID: message.clientMsgId,
    senderID: message.senderId,
    receiverID: message.receiverId,
    groupID: message.groupId,
    messageType: message.messageType,
    sendTime: message.sendTime,
    serverTime: message.serverTime,
    revoked: message.isRevoked,
  };
  // Revoked before it was sent on: its content is gone for everyone, the receiver included.
  if (!message.isRevoked) data.content = base64(message.content);
  return {
    event: "after_send",
    eventID: `after_send:${message.serverMsgId}`,
    time: message.serverTime,
    data,
  };
}

/** user_registered: an account created (over the API; the admin API creates none). */
export function userRegisteredEvent(user: {
  id: string;
  username: string;
  nickname: string;
  createdAt: number;
}): WebhookEvent {
  return {
    event: "user_registered",
    eventID: `user_registered:${user.id}`,
    time: user.createdAt,
    data: { userID: user.id, username: user.username, nickname: user.nickname },
  };
}

/**
 * group_changed: one membership or settings change of a group, as its D1 write records it (absolute
 * values: who joined with which role, who left, roles and mutes set, group fields set), with the
 * command and who gave it. Its id is given when it is sent (webhook-events.ts).
 */
export function groupChangedEvent(
  action: string,
  actorId: string,
  write: GroupWrite,
): Omit<WebhookEvent, "eventID"> {
  const data: Record<string, unknown> = {
    groupID: write.groupId,
    action,
    actorID: actorId,
    memberCount: write.memberCount,
  };
  if (write.group) data.group = write.group;
  if (write.join) data.joined = write.join.map(({ userId, role }) => ({ userID: userId, role }));
  if (write.leave) data.left = write.leave;
  if (write.roles) data.roles = write.roles.map(({ userId, role }) => ({ userID: userId, role }));
  if (write.mutes) data.mutes = write.mutes.map(({ userId, until }) => ({ userID: userId, until }));
  return { event: "group_changed", time: write.at, data };
}

/** Conversations whose messages are people talking (a system conversation holds the server's notices). */
export function isConversationOfPeople(type: number): boolean {
  return type === ConversationType.single || type === ConversationType.group;
}

/** The event as a Queue message: its JSON, or without its content when that is too large. */
function fitted(event: WebhookEvent): { body: WebhookEvent; bytes: number } {
  let bytes = encoder.encode(JSON.stringify(event)).byteLength;
  if (bytes <= MAX_EVENT_BYTES) return { body: event, bytes };
  const data: Record<string, unknown> = { ...event.data, contentOmitted: "too_large" };
  delete data.content;
  const body = { ...event, data };
  bytes = encoder.encode(JSON.stringify(body)).byteLength;
  return { body, bytes };
}

/** A Queue call that has not answered by then counts as failed (the caller retries). */
export const ENQUEUE_TIMEOUT_MS = 10_000;

async function sendBatchWithin(queue: Queue, batch: MessageSendRequest<WebhookEvent>[]): Promise<void> {
  await withTimeout<unknown>(queue.sendBatch(batch), ENQUEUE_TIMEOUT_MS, () => {
    throw new Error(`the Queue did not answer in ${ENQUEUE_TIMEOUT_MS} ms`);
  });
}

/**
 * Puts events on the Queue, in order, in as few sendBatch calls as its limits allow. Throws on
 * failure, or when the Queue does not answer within ENQUEUE_TIMEOUT_MS.
 */
export async function enqueueEvents(queue: Queue, events: readonly WebhookEvent[]): Promise<void> {
  let batch: MessageSendRequest<WebhookEvent>[] = [];
  let batchBytes = 0;
  for (const event of events) {
    const { body, bytes } = fitted(event);
    if (batch.length > 0 && (batch.length >= MAX_BATCH_MESSAGES || batchBytes + bytes > MAX_BATCH_BYTES)) {
      await sendBatchWithin(queue, batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push({ body, contentType: "json" });
    batchBytes += bytes;
  }
  if (batch.length > 0) await sendBatchWithin(queue, batch);
}

/**
 * Puts one event on the Queue from a request that must not fail because of it (a registration is
 * done whatever the Queue says): a failure is logged, and the event is lost.
 */
export async function enqueueOrLog(queue: Queue, event: WebhookEvent, fields: LogFields): Promise<void> {
  try {
    await enqueueEvents(queue, [event]);
  } catch (error) {
    logEvent("error", "webhook_enqueue_failed", { ...fields, reason: event.event }, error);
  }
}
