// D1's per-statement limit, and splitting long id lists to stay under it.

/** D1 allows at most 100 bound parameters per statement (D1 limits page). */
export const MAX_BOUND_PARAMS = 100;

/** Ids per `IN (…)` list: the limit less room for the statement's other parameters. */
export const IDS_PER_STATEMENT = MAX_BOUND_PARAMS - 10;

export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
