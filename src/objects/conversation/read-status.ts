// Group read status for a page of messages: how many members read each one, and who. One pass over
// the members who read at least the page's lowest seq, by the index on members (read_seq, user_id),
// instead of one scan of every member per message.

/** How many members read up to each seq, from a seq on (a covering index range, no table scan). */
export const READ_COUNTS_SQL =
  "SELECT read_seq, COUNT(*) AS n FROM members WHERE read_seq >= ? GROUP BY read_seq ORDER BY read_seq DESC";
/** Who read from a seq on, furthest first (the same index, for groups small enough to name readers). */
export const READERS_SQL = "SELECT user_id, read_seq FROM members WHERE read_seq >= ? ORDER BY read_seq DESC";

export interface ReadStatus {
  count: number;
  /** Who read it, only when names were asked for. */
  readers?: string[];
}

/**
 * For each seq: the members (active or not) who read up to it, leaving out `exclude` (the sender,
 * whose read watermark is `excludeReadSeq`). `named` lists them too; otherwise only counts are read.
 */
export function readStatus(
  sql: SqlStorage,
  seqs: readonly number[],
  exclude: { userId: string; readSeq: number },
  named: boolean,
): Map<number, ReadStatus> {
  const result = new Map<number, ReadStatus>();
  const wanted = [...new Set(seqs)].sort((a, b) => b - a);
  const lowest = wanted[wanted.length - 1];
  if (lowest === undefined) return result;
  if (named) {
    const rows = sql.exec<{ user_id: string; read_seq: number }>(READERS_SQL, lowest).toArray();
    const readers: string[] = [];
    let next = 0;
    for (const seq of wanted) {
      for (let row = rows[next]; row && row.read_seq >= seq; row = rows[++next]) {
        if (row.user_id !== exclude.userId) readers.push(row.user_id);
      }
      result.set(seq, { count: readers.length, readers: [...readers] });
    }
    return result;
  }
  const rows = sql.exec<{ read_seq: number; n: number }>(READ_COUNTS_SQL, lowest).toArray();
  let total = 0;
  let next = 0;
  for (const seq of wanted) {
    for (let row = rows[next]; row && row.read_seq >= seq; row = rows[++next]) total += row.n;
    result.set(seq, { count: total - (exclude.readSeq >= seq ? 1 : 0) });
  }
  return result;
}
