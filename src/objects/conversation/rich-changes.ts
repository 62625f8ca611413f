// How a change to a message or to the pinned list is made and told (docs/RICH-MESSAGES.md): in the
// transaction that makes it, the change takes the conversation's next change number and the message's
// `ext` is re-encoded; after it, every active member who had the message (seq >= their first seq) is
// sent the message's current state, fire and forget as a revoke is (the device that made the change
// gets its answer instead), and a pinned list goes to every active member.
import { pb } from "../../protocol/codec";
import { ownBytes, toMessageInfo, type Identity, type StoredMessage } from "../message";
import { decodeRich, encodeRich, type RichFields } from "../rich-fields";
import type { MessageUpdate, PinsUpdate } from "../rpc";
import type { ConversationContext } from "./context";
import { logEvent } from "../../observability/log";

/** A message after a change, with the change number it took. */
export interface Changed {
  message: StoredMessage;
  modSeq: number;
}

/**
 * In the caller's transaction: applies `mutate` to the message's rich fields, gives it the next
 * change number and stores both (and `content`, for an edit). Returns the message as it is now.
 */
export function changeMessage(
  c: Pick<ConversationContext, "messages" | "rich">,
  message: StoredMessage,
  mutate: (fields: RichFields) => void,
  content?: Uint8Array,
): Changed {
  const fields = decodeRich(message.ext);
  mutate(fields);
  const modSeq = c.rich.nextModSeq();
  fields.modSeq = modSeq;
  const ext = encodeRich(fields);
  c.messages.setChanged(message.seq, ext, modSeq, content);
  return { message: { ...message, ext, content: content ?? message.content }, modSeq };
}

/**
 * Runs a change's statements in one synchronous transaction. If it throws, it rolled back: the
 * message store's remembered copies may hold what it had changed, so they are dropped.
 */
export function inChangeTransaction<T>(
  c: Pick<ConversationContext, "messages" | "storage">,
  body: () => T,
): T {
  try {
    return c.storage.transactionSync(body);
  } catch (error) {
    c.messages.forgetRecent();
    throw error;
  }
}

/** What a member's object is sent for a change: the SDK's fields and the rich ones apart. */
export function messageUpdate(id: Identity, { message, modSeq }: Changed): MessageUpdate {
  // Its current state as delivered (status "sent"), never a reader's read state.
  const plain: StoredMessage = { ...message, status: undefined, readBy: undefined, readCount: undefined };
  return {
    conversationId: id.conversationId,
    seq: message.seq,
    info: ownBytes(pb.MessageInfo.encode(toMessageInfo(plain)).finish()),
    ext: message.ext ?? new Uint8Array(),
    modSeq,
  };
}

/** Tells every active member who had each message of its change, all devices but `originSession`. */
export function pushChanges(
  c: Pick<ConversationContext, "members" | "users">,
  id: Identity,
  changes: readonly Changed[],
  originSession: string,
): void {
  if (changes.length === 0) return;
  const updates = changes.map((change) => messageUpdate(id, change));
  for (const userId of c.members.activeIds()) {
    const firstSeq = c.members.get(userId)?.firstSeq ?? 1;
    const stub = c.users().getByName(userId);
    for (const update of updates) {
      // A member who joined after the message never had it.
      if (firstSeq > update.seq) continue;
      void stub
        .pushMessageUpdate(update, originSession)
        .catch((error: unknown) =>
          logEvent(
            "error",
            "message_update_push_failed",
            { userId, conversationId: id.conversationId },
            error,
          ),
        );
    }
  }
}

/** Sends the whole pinned list, as it is now, to every active member's devices but `originSession`. */
export function pushPinned(
  c: Pick<ConversationContext, "members" | "rich" | "users">,
  id: Identity,
  modSeq: number,
  originSession: string,
): void {
  const update: PinsUpdate = { conversationId: id.conversationId, pins: c.rich.pins(), modSeq };
  for (const userId of c.members.activeIds()) {
    void c
      .users()
      .getByName(userId)
      .pushPins(update, originSession)
      .catch((error: unknown) =>
        logEvent("error", "pins_push_failed", { userId, conversationId: id.conversationId }, error),
      );
  }
}
