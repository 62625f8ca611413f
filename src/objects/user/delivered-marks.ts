// MSG_ACK comes once per pushed message, but a one-to-one conversation only needs the highest seq
// a user's devices have: its object shows the sender "delivered" from it. Acks are coalesced per
// conversation and sent to the conversation's object at most every DELIVERED_FLUSH_MS, so a busy
// user costs one call per conversation, not per push. A group's status comes from its readers, so
// a group's acks mark nothing here: no timer, no call, no write for each member of each message.
// A quiet user's marks are written at the end of the turn instead of a second later: a pending
// timer keeps the object awake, and Cloudflare bills an awake object's wall time (a second of it
// costs about ten times the call it would save; issue 20, docs/PERFORMANCE.md).
import { ConversationType, parseConversationId } from "../../protocol/conversation-id";
import { logEvent } from "../../observability/log";
import { GatheredWrite } from "../../lib/gathered-write";

/**
 * How long acks gather before their delivered marks are written. Each write is a call to the
 * conversation's object: at 200 ms a user receiving steadily cost a third of a call per message.
 * The mark only shows in later syncs (nothing pushes it), so a second's delay is not seen.
 */
export const DELIVERED_FLUSH_MS = 1_000;

export class DeliveredMarks {
  private readonly pending = new Map<string, number>();
  private readonly write = new GatheredWrite(DELIVERED_FLUSH_MS, () => this.flush());
  /** The user whose acks these are (the object's, known once a socket is). */
  private userId = "";

  constructor(private readonly env: Env) {}

  mark(userId: string, conversationId: string, seq: number): void {
    // A group message's status comes from its readers, not from delivered marks: the group's
    // object is not told, which saves it one call per member for every message it fans out, and
    // the member's object a timer and a turn for every ack.
    if (parseConversationId(conversationId)?.type !== ConversationType.single) return;
    this.userId = userId;
    this.pending.set(conversationId, Math.max(seq, this.pending.get(conversationId) ?? 0));
    // Quiet: at the end of the turn (its acks go together); busy: a second after the last write.
    this.write.request();
  }

  private flush(): void {
    const userId = this.userId;
    const marks = [...this.pending];
    this.pending.clear();
    for (const [conversationId, seq] of marks) {
      void this.env.CONVERSATION_OBJECT.getByName(conversationId)
        .markDelivered(userId, seq)
        .catch((error: unknown) =>
          logEvent("warn", "delivered_mark_failed", { userId, conversationId, seq }, error),
        );
    }
  }
}
