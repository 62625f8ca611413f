// The message search's paging cursor: where the previous page ended in the order results come in,
// document id newest first (src/db/message-search.ts). Each history shard numbers its own documents,
// so two shards can hold the same id; results are ordered by (document id, shard name), both
// descending, and a cursor names both: "<doc id>.<shard>". A cursor of the id alone (from before
// shards, or a client that kept one) means "below this id" on every shard, as it always did.

export interface SearchCursor {
  /** The last result's document id; the next page starts below it. */
  docId: number;
  /** The shard of that result; null: below `docId` on every shard. */
  shard: string | null;
}

/** What a cursor may look like: a document id (up to 2^53), and a binding name. */
export const CURSOR_PATTERN = /^[1-9][0-9]{0,15}(\.[A-Za-z_$][A-Za-z0-9_$]{0,63})?$/;

export function encodeCursor(cursor: SearchCursor): string {
  return cursor.shard === null ? String(cursor.docId) : `${cursor.docId}.${cursor.shard}`;
}

/** A cursor matching CURSOR_PATTERN (the route checks it first). */
export function decodeCursor(text: string): SearchCursor {
  const dot = text.indexOf(".");
  return dot < 0
    ? { docId: Number(text), shard: null }
    : { docId: Number(text.slice(0, dot)), shard: text.slice(dot + 1) };
}

/** `a` before `b` in result order: (document id, shard) descending. */
export function compareResults(
  a: { docId: number; shard: string },
  b: { docId: number; shard: string },
): number {
  if (a.docId !== b.docId) return b.docId - a.docId;
  return a.shard < b.shard ? 1 : a.shard > b.shard ? -1 : 0;
}

/**
 * The exclusive document-id bound a shard searches below for the page after `cursor`: a shard whose
 * name sorts before the cursor's still owes the results at the cursor's own id.
 */
export function shardBound(cursor: SearchCursor | null, shard: string): number | null {
  if (cursor === null) return null;
  return cursor.shard !== null && shard < cursor.shard ? cursor.docId + 1 : cursor.docId;
}
