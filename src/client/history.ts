// Paging backwards through a conversation's history with SYNC_RANGE, for chat views that scroll up.
import type { IMStore } from "./store.ts";
import type { SyncRange } from "./sync-requests.ts";
import type { Message } from "./types.ts";

/** The default page of `history`, and the largest one asked for at once. */
export const HISTORY_PAGE = 30;
export const MAX_HISTORY_PAGE = 500;

export interface HistoryDeps {
  syncRange: SyncRange;
  store: IMStore;
  /** The conversation's cursor (0 when unknown): the default upper end, and what may be stored. */
  cursor: (conversationId: string) => number;
}

/**
 * The `limit` messages before `beforeSeq` (default: after the newest delivered), oldest first, read
 * from the server with their status as this user sees it now (a message of this user's is `read`
 * once the peer read it). Pages forward inside the range while the server cuts it by size. What
 * lies at or below the conversation's cursor is written back to the store, so the next read of the
 * store has it; nothing above the cursor is stored, since delivery has not reached it yet.
 */
export async function fetchHistory(
  deps: HistoryDeps,
  conversationId: string,
  options: { beforeSeq?: number; limit?: number } = {},
): Promise<Message[]> {
  const cursor = deps.cursor(conversationId);
  const before = options.beforeSeq ?? cursor + 1;
  const limit = Math.min(Math.max(1, Math.floor(options.limit ?? HISTORY_PAGE)), MAX_HISTORY_PAGE);
  const end = before - 1;
  if (end < 1) return [];
  const out: Message[] = [];
  let from = Math.max(1, before - limit);
  for (;;) {
    const page = await deps.syncRange(conversationId, from, end);
    out.push(...page.messages.filter((m) => m.seq >= from && m.seq <= end));
    if (!page.hasMore || page.endSeq < from) break;
    from = page.endSeq + 1;
    if (from > end) break;
  }
  const known = out.filter((m) => m.seq <= cursor);
  if (known.length > 0) await deps.store.saveMessages(conversationId, known, cursor);
  return out;
}
