// What a job shows on the phone: a title and body (sender and text, unless previews are hidden),
// the count of unread messages in the conversation, the badge, and the collapse id that makes a
// newer notification of the same conversation replace the older one on the device.
import { ConversationType } from "../protocol/conversation-id";
import type { PushJob } from "./job";

export interface Notification {
  title: string;
  body: string;
  badge: number;
  count: number;
  /** At most 64 bytes (apns-collapse-id's limit); the same for every notification of a conversation. */
  collapseId: string;
  conversationId: string;
  conversationType: number;
  seq: number;
}

const MAX_COLLAPSE_ID_BYTES = 64;

async function collapseIdOf(conversationId: string): Promise<string> {
  if (new TextEncoder().encode(conversationId).length <= MAX_COLLAPSE_ID_BYTES) return conversationId;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(conversationId));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The sender's and (for a group) the group's display names, one D1 batch. */
async function namesOf(db: D1Database, job: PushJob): Promise<{ sender: string; group: string }> {
  const groupId =
    job.conversationType === ConversationType.group ? job.conversationId.slice("group_".length) : "";
  const [sender, group] = await db.batch<{ name: string }>([
    db
      .prepare(
        "SELECT CASE WHEN nickname <> '' THEN nickname ELSE username END AS name FROM users WHERE id = ?",
      )
      .bind(job.senderId),
    db.prepare("SELECT name FROM groups WHERE id = ?").bind(groupId),
  ]);
  return { sender: sender?.results[0]?.name ?? "", group: group?.results[0]?.name ?? "" };
}

export async function notificationOf(db: D1Database, job: PushJob): Promise<Notification> {
  const base = {
    badge: job.badge,
    count: job.count,
    collapseId: await collapseIdOf(job.conversationId),
    conversationId: job.conversationId,
    conversationType: job.conversationType,
    seq: job.seq,
  };
  const counted = job.count > 1 ? `${job.count} new messages` : "New message";
  if (!job.showPreview || job.preview === null) return { ...base, title: counted, body: "" };
  const names = await namesOf(db, job);
  const sender = names.sender || "Someone";
  const suffix = job.count > 1 ? ` (${job.count})` : "";
  if (job.conversationType === ConversationType.group)
    return { ...base, title: `${names.group || "Group"}${suffix}`, body: `${sender}: ${job.preview}` };
  if (job.conversationType === ConversationType.system)
    return { ...base, title: `Notice${suffix}`, body: job.preview };
  return { ...base, title: `${sender}${suffix}`, body: job.preview };
}
