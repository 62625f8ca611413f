// Which reactions are this user's. A message's `userIds` lists only the first 100 who reacted with
// an emoji, so the 101st reactor would not find themselves there and could not take theirs back:
// what this page's own react calls answered is remembered per message and wins over the list.
import type { Message } from "edge-im/client";

/** Messages remembered; past it the oldest is forgotten (its list's first 100 still tell). */
export const OWN_REACTIONS_KEPT = 2_000;

export class OwnReactions {
  /** serverMsgId → emoji → reacted; Map order is insertion order, so the first key is the oldest. */
  private readonly byMessage = new Map<string, Map<string, boolean>>();
  private readonly limit: number;

  constructor(limit = OWN_REACTIONS_KEPT) {
    this.limit = limit;
  }

  /** The server agreed: this user now has (or with `remove` no longer has) `emoji` on the message. */
  record(serverMsgId: string, emoji: string, remove: boolean): void {
    const emojis = this.byMessage.get(serverMsgId) ?? new Map<string, boolean>();
    this.byMessage.delete(serverMsgId); // re-inserted as the newest
    emojis.set(emoji, !remove);
    this.byMessage.set(serverMsgId, emojis);
    if (this.byMessage.size > this.limit) {
      const oldest = this.byMessage.keys().next().value;
      if (oldest !== undefined) this.byMessage.delete(oldest);
    }
  }

  /** True when `userId` (this user) reacted to `message` with `emoji`. */
  has(message: Message, emoji: string, userId: string): boolean {
    const reaction = message.reactions.find((r) => r.emoji === emoji && r.count > 0);
    if (!reaction) return false; // everyone's taken back, this user's too
    const known = this.byMessage.get(message.serverMsgId)?.get(emoji);
    return known ?? reaction.userIds.includes(userId);
  }
}
