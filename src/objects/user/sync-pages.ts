// Sync answers are cut by encoded size as well as by count, so no frame passes the frame limit
// (PROTOCOL.md, decision 9): these keep the part of a page that fits a byte budget.
import { encodedSizeBound, type StoredMessage } from "../message";

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
