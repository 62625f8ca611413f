// Applying rich messages' changes: which fields a change replaces in a stored message (never its
// read state), and the per-conversation bookkeeping of the newest change number applied.
import type { Message } from "./types.ts";

/** The fields a change may replace; everything else (status, readCount, ids, seq) stays as stored. */
export const CHANGED_FIELDS = [
  "content",
  "text",
  "isRevoked",
  "revokedBy",
  "revokedTime",
  "replyTo",
  "mentions",
  "mentionAll",
  "forwardedFrom",
  "editedTime",
  "editCount",
  "reactions",
  "replyCount",
  "modSeq",
] as const satisfies readonly (keyof Message)[];

export type MessageChange = Partial<Pick<Message, (typeof CHANGED_FIELDS)[number]>>;

/** A message's current state as a change (a MESSAGE_UPDATED_PUSH or a CHANGES answer carries it whole). */
export function changeOf(update: Message): MessageChange {
  const change: Record<string, unknown> = {};
  for (const field of CHANGED_FIELDS) change[field] = update[field];
  return change as MessageChange;
}

/**
 * The stored message with `change` applied, or null when the change is older than what is stored
 * (a push and a CHANGES page can bring the same message in either order: the higher modSeq wins).
 */
export function applyChange(stored: Message, change: MessageChange): Message | null {
  if (change.modSeq !== undefined && change.modSeq > 0 && change.modSeq < stored.modSeq) return null;
  const merged: Message = { ...stored, ...change };
  // A change without a number (a caller's own partial change) keeps the stored one.
  if (change.modSeq === undefined || change.modSeq === 0) merged.modSeq = stored.modSeq;
  return merged;
}

/**
 * What to store when a copy of a stored message arrives again (a history page): the new copy, with
 * the stored rich state when the stored copy holds a newer change (the page may have been read
 * before a change that a push already applied).
 */
export function newerCopy(stored: Message | undefined, incoming: Message): Message {
  if (!stored || stored.modSeq <= incoming.modSeq) return incoming;
  return { ...incoming, ...changeOf(stored) };
}

/**
 * The newest change number applied per conversation. Change numbers are gapless per conversation,
 * so a pushed change (or one's own, answered with its number) numbered one above what is applied
 * moves it up; any other (a gap: a change this socket was not sent) leaves it, and the next sync's
 * CHANGES_REQ fills in from there.
 */
export class AppliedChanges {
  private readonly applied = new Map<string, number>();

  constructor(initial: ReadonlyMap<string, number> = new Map()) {
    for (const [id, modSeq] of initial) this.applied.set(id, modSeq);
  }

  get(conversationId: string): number {
    return this.applied.get(conversationId) ?? 0;
  }

  /** A pushed change: true when it was the next one (and is now applied). */
  advanceByOne(conversationId: string, modSeq: number): boolean {
    if (modSeq !== this.get(conversationId) + 1) return false;
    this.applied.set(conversationId, modSeq);
    return true;
  }

  /** A CHANGES answer applied up to `modSeq`: never moves down. True when it moved. */
  advanceTo(conversationId: string, modSeq: number): boolean {
    if (modSeq <= this.get(conversationId)) return false;
    this.applied.set(conversationId, modSeq);
    return true;
  }

  /** The conversations whose server change number is above the applied one, with where to ask from. */
  behind(server: ReadonlyMap<string, number>): { conversationId: string; afterModSeq: number }[] {
    const out: { conversationId: string; afterModSeq: number }[] = [];
    for (const [conversationId, modSeq] of server) {
      const applied = this.get(conversationId);
      if (modSeq > applied) out.push({ conversationId, afterModSeq: applied });
    }
    return out;
  }
}
