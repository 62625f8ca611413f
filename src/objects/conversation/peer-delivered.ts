// A one-to-one message the reader sent shows "delivered" once the peer's devices have it. The peer's
// object keeps that mark (user/delivered-marks.ts) instead of calling here at every ack; a page
// that shows the reader their own messages past what this object knows asks it once, and keeps
// the answer in the peer's member row, so later pages need not ask again. Only reads ask, and
// nothing pushes the status, so what a sync shows is as fresh as it was when every ack was a call.
import { ConversationType, peerOf } from "../../protocol/conversation-id";
import type { StoredMessage } from "../message";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { markDelivered } from "./read-receipts";
import { logEvent } from "../../observability/log";

export async function learnPeerDelivered(
  c: Pick<ConversationContext, "members" | "messages" | "users">,
  named: Named,
  readerId: string,
  page: readonly StoredMessage[],
): Promise<void> {
  const { conversation, id } = named;
  if (conversation.type !== ConversationType.single) return;
  const peerId = peerOf(conversation, readerId);
  const peer = c.members.get(peerId);
  if (!peer) return; // nothing was ever delivered to the peer
  let newestOwn = 0;
  for (const m of page) if (m.senderId === readerId && m.seq > newestOwn) newestOwn = m.seq;
  if (newestOwn <= Math.max(peer.deliveredSeq, peer.readSeq)) return;
  try {
    const seq = await c.users().getByName(peerId).deliveredSeq(id.conversationId);
    if (seq > peer.deliveredSeq) markDelivered(c, named, peerId, seq);
  } catch (error) {
    // The page goes out with what this object knew: "sent" for what it could not confirm.
    logEvent("warn", "peer_delivered_unknown", { conversationId: id.conversationId, userId: peerId }, error);
  }
}
