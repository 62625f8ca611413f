// A page of messages cut to a byte budget: what one frame (or one RPC answer) may carry. The first
// message always goes, however large, so a reader never gets stuck before it.
import { encodedSizeBound, type Identity, type StoredMessage } from "../message";
import { toStored, type MessageRow } from "./message-tables";

/** Stored messages from rows, read one at a time, until the next would pass `maxBytes`. */
export function takeWithinBytes(rows: Iterable<MessageRow>, id: Identity, maxBytes: number): StoredMessage[] {
  const out: StoredMessage[] = [];
  let used = 0;
  for (const row of rows) {
    const message = toStored(row, id);
    used += encodedSizeBound(message);
    if (out.length > 0 && used > maxBytes) break;
    out.push(message);
  }
  return out;
}

/** The longest prefix of `messages` within `maxBytes` (never empty when `messages` is not). */
export function withinBytes(messages: StoredMessage[], maxBytes: number): StoredMessage[] {
  let used = 0;
  for (let i = 0; i < messages.length; i++) {
    used += encodedSizeBound(messages[i] as StoredMessage);
    if (i > 0 && used > maxBytes) return messages.slice(0, i);
  }
  return messages;
}

/** The longest suffix (the newest) of `messages` within `maxBytes` (never empty when `messages` is not). */
export function newestWithinBytes(messages: StoredMessage[], maxBytes: number): StoredMessage[] {
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    used += encodedSizeBound(messages[i] as StoredMessage);
    if (i < messages.length - 1 && used > maxBytes) return messages.slice(i + 1);
  }
  return messages;
}
