// A one-to-one message the reader sent shows "delivered" once the peer's devices have it. The peer's
// object keeps that mark (user/delivered-marks.ts) instead of calling here at every ack; a page
// that shows the reader their own messages past what this object knows asks it, and keeps the
// answer in the peer's member row, so later pages need not ask again. Only reads ask, and nothing
// pushes the status, so what a sync shows is as fresh as it was when every ack was a call.
import { ConversationType, peerOf } from "../../protocol/conversation-id";
import type { StoredMessage } from "../message";
import type { UserObject } from "../user/user-object";
import type { Named } from "./identity";
import type { MemberStore } from "./member-store";
import { withTimeout } from "../../lib/with-timeout";
import { logEvent } from "../../observability/log";

/**
 * At most one ask a second for each peer: a reader paging through their own unconfirmed messages
 * (or asking again and again) wakes the peer's object no more often than that. A page within it
 * waits for the ask under way, if any, and shows what it answered.
 */
export const ASK_EVERY_MS = 1_000;

/** How long a page waits for the peer's answer before it goes out with what this object knew. */
export const ASK_TIMEOUT_MS = 1_000;

interface Ask {
  at: number;
  /** Settles when the peer answered or the page stopped waiting for it. */
  settled: Promise<void>;
}

export class PeerDelivered {
  /** The last ask about each peer: a one-to-one conversation has two, so at most two entries. */
  private readonly asks = new Map<string, Ask>();

  constructor(
    private readonly c: {
      members: Pick<MemberStore, "get">;
      users(): DurableObjectNamespace<UserObject>;
      /** Keeps what the peer's object answered in its member row (read-receipts.ts). */
      keep(named: Named, peerId: string, seq: number): void;
    },
  ) {}

  /** Asks the peer's object when `page` shows `readerId` their own messages past what is known. */
  async learn(named: Named, readerId: string, page: readonly StoredMessage[]): Promise<void> {
    const { conversation } = named;
    if (conversation.type !== ConversationType.single) return;
    const peerId = peerOf(conversation, readerId);
    const peer = this.c.members.get(peerId);
    if (!peer) return; // nothing was ever delivered to the peer
    let newestOwn = 0;
    for (const m of page) if (m.senderId === readerId && m.seq > newestOwn) newestOwn = m.seq;
    if (newestOwn <= Math.max(peer.deliveredSeq, peer.readSeq)) return;
    const now = Date.now();
    const last = this.asks.get(peerId);
    if (last && now - last.at < ASK_EVERY_MS) return last.settled;
    const settled = this.ask(named, peerId);
    this.asks.set(peerId, { at: now, settled });
    return settled;
  }

  private async ask(named: Named, peerId: string): Promise<void> {
    const fields = { conversationId: named.id.conversationId, userId: peerId };
    // An answer that comes after the page stopped waiting is still kept, for the next page.
    const answered = this.c
      .users()
      .getByName(peerId)
      .deliveredSeq(named.id.conversationId)
      .then(
        (seq) => {
          if (seq > 0) this.c.keep(named, peerId, seq);
          return true;
        },
        (error: unknown) => {
          // The page goes out with what this object knew: "sent" for what it could not confirm.
          logEvent("warn", "peer_delivered_unknown", fields, error);
          return true;
        },
      );
    if (!(await withTimeout(answered, ASK_TIMEOUT_MS, () => false)))
      logEvent("warn", "peer_delivered_late", fields);
  }
}
