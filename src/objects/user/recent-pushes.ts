// MSG_ACK names a message only by server_msg_id and seq, without its conversation. The UserObject
// remembers where recent pushes belong, so an ack can move that conversation's delivered
// watermark. Acks come within moments of a push; older ones are not worth storage writes.

/** Pushes remembered per user object. */
export const RECENT_PUSHES_LIMIT = 5_000;

export class RecentPushes {
  private readonly byId = new Map<string, { conversationId: string; seq: number }>();

  remember(serverMsgId: string, conversationId: string, seq: number): void {
    this.byId.set(serverMsgId, { conversationId, seq });
    if (this.byId.size > RECENT_PUSHES_LIMIT) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
  }

  take(serverMsgId: string): { conversationId: string; seq: number } | undefined {
    const found = this.byId.get(serverMsgId);
    this.byId.delete(serverMsgId);
    return found;
  }
}
