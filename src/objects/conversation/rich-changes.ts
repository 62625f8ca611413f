// How a change to a message or to the pinned list is made and told (docs/RICH-MESSAGES.md): in the
// transaction that makes it, the change takes the conversation's next change number and the message's
// `ext` is re-encoded; after it, the members' change pumps (change-pump.ts) bring every active member
// who had the message (seq >= their first seq) its current state (the device that made the change
// gets its answer instead), and the pinned list to every active member.
import type { Identity, StoredMessage } from "../message";
import { decodeRich, encodeRich, type RichFields } from "../rich-fields";
import type { ConversationContext } from "./context";

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

/**
 * Tells the members of committed message changes: their pumps (change-pump.ts) bring each member who
 * had a message its current state; every device but `originSession`, which had its answer.
 */
export function pushChanges(
  c: Pick<ConversationContext, "changePump">,
  id: Identity,
  changes: readonly Changed[],
  originSession: string,
): void {
  if (changes.length === 0) return;
  c.changePump.changed(
    id,
    changes.map((change) => change.modSeq),
    originSession,
  );
}

/** Tells every active member's devices but `originSession` that the pinned list changed (at `modSeq`). */
export function pushPinned(
  c: Pick<ConversationContext, "changePump">,
  id: Identity,
  modSeq: number,
  originSession: string,
): void {
  c.changePump.changed(id, [modSeq], originSession);
}
