// How much a copy of history rows weighs, to bound what one call carries and what a writer holds.
import type { StoredMessage } from "../message";

/**
 * Most bytes of rows one copy hands over in one call (and a writer writes in one batch): 700 rows
 * of the largest content would be ~45 MB, past what an RPC carries and a writer should hold.
 */
export const MAX_COPY_BYTES = 4 * 1024 * 1024;

/** A row's weight in memory, roughly: content bytes, strings at two bytes a character, fixed fields. */
function rowBytes(m: StoredMessage): number {
  return 256 + m.content.byteLength + 2 * (m.extra.length + m.attachedInfo.length + m.clientMsgId.length);
}

export function historyBytes(rows: readonly StoredMessage[]): number {
  let bytes = 0;
  for (const m of rows) bytes += rowBytes(m);
  return bytes;
}

/** The leading rows that fit in MAX_COPY_BYTES; at least one, so a row larger than that still goes. */
export function withinCopyBytes(rows: StoredMessage[]): StoredMessage[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    bytes += rowBytes(rows[i] as StoredMessage);
    if (bytes > MAX_COPY_BYTES && i > 0) return rows.slice(0, i);
  }
  return rows;
}
