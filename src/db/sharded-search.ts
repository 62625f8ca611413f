// Message search over every history shard that can hold the caller's history (src/db/history-shards.ts):
// each shard indexes its own conversations and knows who may read them (message-search.ts), so
// the same search runs on each, at once, and their pages are merged in result order, document id
// newest first, shard name to break a tie (src/search/cursor.ts). A shard's page may stop short
// of the page's end (a bounded window, or its own page full): the merged page then ends where the
// first shard stopped looking, so the next page neither repeats nor skips anything on any shard.
import type { HistoryShard } from "./history-shards";
import { searchMessages, type FoundMessage, type SearchLimits, type SearchRequest } from "./message-search";
import { compareResults, shardBound, type SearchCursor } from "../search/cursor";

export interface ShardedSearchRequest extends Omit<SearchRequest, "before"> {
  /** Only results after this one (the previous page's cursor). */
  cursor: SearchCursor | null;
}

export interface ShardFound extends FoundMessage {
  /** The history shard the row was found on. */
  shard: string;
}

export interface ShardedSearchPage {
  messages: ShardFound[];
  /** Where the next page starts; null when nothing is left on any shard. */
  nextCursor: SearchCursor | null;
}

/** A page of the caller's results over `shards` (all of them, or the one conversation's). */
export async function searchShards(
  shards: readonly HistoryShard[],
  request: ShardedSearchRequest,
  limits: Partial<SearchLimits> = {},
): Promise<ShardedSearchPage> {
  const pages = await Promise.all(
    shards.map(async ({ name, db }) => {
      const page = await searchMessages(db, { ...request, before: shardBound(request.cursor, name) }, limits);
      return { shard: name, messages: page.messages, nextCursor: page.nextCursor };
    }),
  );
  return mergePages(pages, request.limit);
}

const key = (found: ShardFound) => ({ docId: found.doc_id, shard: found.shard });

/**
 * Merges the shards' pages: every result up to the first point (in result order) below which some
 * shard has not looked, then the first `limit` of them.
 */
export function mergePages(
  pages: readonly { shard: string; messages: readonly FoundMessage[]; nextCursor: number | null }[],
  limit: number,
): ShardedSearchPage {
  let frontier: { docId: number; shard: string } | null = null;
  for (const page of pages) {
    if (page.nextCursor === null) continue;
    const stop = { docId: page.nextCursor, shard: page.shard };
    if (frontier === null || compareResults(stop, frontier) < 0) frontier = stop;
  }
  const known = pages
    .flatMap((page) => page.messages.map((m): ShardFound => ({ ...m, shard: page.shard })))
    .filter((found) => frontier === null || compareResults(key(found), frontier) <= 0)
    .sort((a, b) => compareResults(key(a), key(b)));
  const messages = known.slice(0, limit);
  const last = messages[messages.length - 1];
  if (known.length > limit && last) return { messages, nextCursor: key(last) };
  return { messages, nextCursor: frontier };
}
