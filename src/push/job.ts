// A push job: what a user's object puts on PUSH_QUEUE for one conversation's new messages, and what
// the consumer reads back (checked, never cast: the queue is an input like any other). Its id names
// the user, the conversation and the newest seq it covers, so one message is in one job only, and a
// job sent again (a retry, a redelivery) is recognised by the consumer's delivery records.
import { z } from "zod";

export const PUSH_JOB_VERSION = 1;

export const PushJob = z.object({
  v: z.literal(PUSH_JOB_VERSION),
  id: z.string().min(1).max(300),
  userId: z.string().min(1).max(64),
  conversationId: z.string().min(1).max(200),
  conversationType: z.number().int(),
  /** The newest message's sender, seq and type. */
  senderId: z.string().max(64),
  seq: z.number().int().positive(),
  messageType: z.number().int(),
  /** Unread messages in this conversation when the job was made (the notification's count). */
  count: z.number().int().nonnegative(),
  /** The user's unread total over every conversation: the app icon's badge. */
  badge: z.number().int().nonnegative(),
  /** The newest message's text, cut short; null when previews are hidden or it is not text. */
  preview: z.string().nullable(),
  /** Whether sender and text may be shown (user and conversation settings). */
  showPreview: z.boolean(),
  createdAt: z.number().int(),
});
export type PushJob = z.infer<typeof PushJob>;

export function pushJobId(userId: string, conversationId: string, seq: number): string {
  return `${userId}:${conversationId}:${seq}`;
}

/** The queue message's body as a job, or null when it is not one. */
export function parsePushJob(body: unknown): PushJob | null {
  const parsed = PushJob.safeParse(body);
  return parsed.success ? parsed.data : null;
}
