// MSG_ACK comes once per pushed message, but a one-to-one conversation only needs the highest seq a
// user's devices have: the sender's later syncs show "delivered" from it. The mark stays here, in
// the receiver's own object, and the conversation asks for it only when a sync shows the sender
// messages past what it knows (conversation/peer-delivered.ts). Nothing pushes the status, so
// nothing needs it sooner; telling the conversation at every ack cost a call and a write there for
// most messages of a quiet conversation, the largest share of what it paid above a relay (issue 20,
// docs/PERFORMANCE.md).
//
// Marks are written to this object's SQLite as device cursors are (lib/gathered-write.ts): a quiet
// user's at the end of the ack's turn, in its implicit transaction; a busy user's gathered for
// DELIVERED_FLUSH_MS. A group's status comes from its readers, so a group's acks mark nothing.
import { ConversationType, parseConversationId } from "../../protocol/conversation-id";
import { GatheredWrite } from "../../lib/gathered-write";
import { migrate } from "../sql-migrations";

const SCHEMA = [
  // One row per one-to-one conversation whose messages this user's devices acked or synced: no
  // more rows than the inbox has conversations.
  `CREATE TABLE delivered_marks (
     conversation_id TEXT PRIMARY KEY,
     seq INTEGER NOT NULL
   ) WITHOUT ROWID`,
];

/**
 * How long a busy user's marks gather before they are written. A quiet user's are written at the
 * end of the turn; a mark not yet written is still answered from memory.
 */
export const DELIVERED_FLUSH_MS = 1_000;

export class DeliveredMarks {
  /** Marks moved since the last write, by conversation. */
  private readonly pending = new Map<string, number>();
  private readonly write = new GatheredWrite(DELIVERED_FLUSH_MS, () => this.writePending());

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "delivered_marks", SCHEMA);
  }

  /** The user's devices have the conversation's messages up to `seq` (an ack, or a sync's answer). */
  mark(conversationId: string, seq: number): void {
    // A group message's status comes from its readers: no row, no timer, for each member of each
    // message a group fans out.
    if (parseConversationId(conversationId)?.type !== ConversationType.single) return;
    if (seq <= (this.pending.get(conversationId) ?? 0)) return;
    this.pending.set(conversationId, seq);
    this.write.request();
  }

  /** The highest seq of the conversation the user's devices have; 0 when none was marked. */
  seqOf(conversationId: string): number {
    const stored = this.sql
      .exec<{ seq: number }>("SELECT seq FROM delivered_marks WHERE conversation_id = ?", conversationId)
      .toArray()[0]?.seq;
    return Math.max(stored ?? 0, this.pending.get(conversationId) ?? 0);
  }

  /** Writes what is pending now (a socket closing: the object may sleep once it has). */
  flush(): void {
    if (this.pending.size > 0) this.write.now();
  }

  private writePending(): void {
    for (const [conversationId, seq] of this.pending) {
      // A stale mark (a device acking what another already had) leaves the row unwritten.
      this.sql.exec(
        `INSERT INTO delivered_marks (conversation_id, seq) VALUES (?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET seq = excluded.seq
         WHERE excluded.seq > delivered_marks.seq`,
        conversationId,
        seq,
      );
    }
    this.pending.clear();
  }
}
