// Sync answers are cut by encoded size as well as by count, so no frame passes the frame limit
// (PROTOCOL.md, decision 9): these keep the part of a page that fits a byte budget.
import { DEFAULT_SYNC_COUNT, MAX_SYNC_COUNT } from "../../protocol/limits";
import { encodedSizeBound, type StoredMessage } from "../message";
import type { ReadQuery, ReadResult } from "../rpc";

/** A request's count: the default when unset, at most MAX_SYNC_COUNT. */
export function clampCount(requested: number | null | undefined): number {
  const n = requested ?? 0;
  return n > 0 ? Math.min(n, MAX_SYNC_COUNT) : DEFAULT_SYNC_COUNT;
}

/** Reads a page of the conversation from its object. */
export function readConversation(env: Env, conversationId: string, query: ReadQuery): Promise<ReadResult> {
  return env.CONVERSATION_OBJECT.getByName(conversationId).read(query);
}

/** Keeps the longest prefix of `messages` whose encoded size fits `budget`. */
export function fitPrefix(
  messages: StoredMessage[],
  budget: number,
): { kept: StoredMessage[]; used: number } {
  let used = 0;
  let n = 0;
  for (const m of messages) {
    const size = encodedSizeBound(m);
    if (used + size > budget) break;
    used += size;
    n++;
  }
  return { kept: messages.slice(0, n), used };
}
