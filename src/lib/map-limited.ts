// Bounded concurrency over a list, for the server (a BATCH_SYNC reads its conversations 16 at a
// time) and the bench alike: plain TypeScript with no imports, so Node runs it as it is.

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
