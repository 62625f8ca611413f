// What the user's delivery order (delivery-order.ts) does with a delivery in its turn, whichever
// path brought it (a conversation's fan-out, or the user's own sends handed back, own-sends.ts):
// the inbox keeps the messages it did not have, and every authenticated device gets them, except
// the device that sent a message, which had its SEND_MSG_RSP. A gap the order cannot wait out is
// read from the conversation like a sync.
import { parseConversationId, peerOf } from "../../protocol/conversation-id";
import { pushFrames } from "../../protocol/push-frames";
import { toDelivered, type DeliveredMessage } from "../message";
import type { Delivery } from "../rpc";
import { creditPushes } from "./ack-credit";
import type { InboxAccess } from "./delivery-order";
import { DeviceCursors } from "./device-cursors";
import type { Inbox } from "./inbox";
import type { RecentPushes } from "./recent-pushes";
import { declaresRich, withExt } from "./rich-updates";
import { sendFrame, socketState } from "./socket-state";

/** Encoded size one gap-fill read may carry (well under the 32 MiB an RPC may). */
const GAP_FILL_MAX_BYTES = 8 * 1024 * 1024;

export interface InboxDeliveryParts {
  ctx: DurableObjectState;
  env: Env;
  inbox: Inbox;
  recentPushes: RecentPushes;
  deviceCursors: DeviceCursors;
  /** New messages that reached no device: offline push takes them (src/push/scheduler.ts). */
  unreached: (delivery: Delivery, fresh: DeliveredMessage[]) => void;
}

export function inboxDelivery(parts: InboxDeliveryParts): InboxAccess {
  return {
    maxSeq: (conversationId) => parts.inbox.maxSeq(conversationId),
    apply: (delivery) => receive(parts, delivery),
    read: (delivery, fromSeq, toSeq) => readMissing(parts.env, delivery, fromSeq, toSeq),
  };
}

/** A delivery, in its turn: into the inbox, then to the devices. */
function receive(parts: InboxDeliveryParts, delivery: Delivery): void {
  const conversation = parseConversationId(delivery.conversationId);
  const peer = conversation ? peerOf(conversation, delivery.recipientId) : "";
  const fresh = parts.inbox.apply(delivery, peer);
  if (fresh.length === 0) return;
  for (const m of fresh) {
    // MSG_ACKs name only the message: where a push belongs is remembered for them (not one's own).
    if (m.senderId !== delivery.recipientId)
      parts.recentPushes.remember(m.serverMsgId, delivery.conversationId, m.seq);
  }
  if (!push(parts, fresh, delivery.conversationId)) parts.unreached(delivery, fresh);
}

/** Messages the inbox missed, read from the conversation like a sync. */
async function readMissing(
  env: Env,
  delivery: Delivery,
  fromSeq: number,
  toSeq: number,
): Promise<DeliveredMessage[]> {
  const result = await env.CONVERSATION_OBJECT.getByName(delivery.conversationId).read({
    userId: delivery.recipientId,
    fromSeq,
    toSeq,
    limit: toSeq - fromSeq + 1,
    newest: false,
    // A gap fill goes out as pushes, which push() cuts into frames; what does not fit one call
    // stays a gap the devices fill themselves (SYNC_RANGE).
    maxBytes: GAP_FILL_MAX_BYTES,
    statuses: false,
  });
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  // Pushed like any delivery: without the reader's statuses a sync would carry.
  return result.messages.map(({ status: _s, readBy: _b, readCount: _c, ...message }) => toDelivered(message));
}

/**
 * Pushes new messages to every authenticated device but the one that sent each; false when no
 * device is authenticated (the user is offline).
 */
function push(parts: InboxDeliveryParts, messages: DeliveredMessage[], conversationId: string): boolean {
  let online = false;
  // Rich fields make a second variant only when a message has some: a plain delivery encodes as
  // many frames as it did before rich messages.
  const anyExt = messages.some((m) => m.ext !== undefined && m.ext.byteLength > 0);
  const byVariant = new Map<string, { frames: Uint8Array[]; pushed: DeliveredMessage[] }>();
  for (const ws of parts.ctx.getWebSockets()) {
    const state = socketState(ws);
    if (!state.authed) continue;
    online = true;
    // Frames differ only in whether this device's own sends are left out and whether it declared
    // rich_messages; encode each variant once.
    const own = messages.some((m) => m.originSession === state.sessionId);
    const rich = anyExt && declaresRich(state);
    const origin = own ? state.sessionId : "";
    const key = rich ? `rich:${origin}` : origin;
    let entry = byVariant.get(key);
    if (!entry) {
      const pushed = own ? messages.filter((m) => m.originSession !== state.sessionId) : messages;
      const infos = rich ? pushed.map((m) => withExt(m.info, m.ext)) : pushed.map((m) => m.info);
      entry = { frames: pushFrames(infos), pushed };
      byVariant.set(key, entry);
    }
    if (entry.frames.length === 0) continue;
    for (const frame of entry.frames) sendFrame(ws, frame);
    creditPushes(ws, entry.pushed.length);
    const device = DeviceCursors.device(state.loginSessionId, state.platform);
    parts.deviceCursors.pushed(ws, device, conversationId, entry.pushed);
  }
  return online;
}
