// CHANGES: what changed after a change number among the messages the reader can see, each in its
// current state, oldest change first, and the pinned list when it changed in the same span. A device
// that was away asks from the last number it applied while BATCH_SYNC shows a newer one.
import type { ChangesQuery, ChangesResult } from "../rpc";
import { encodedSizeBound } from "../message";
import type { ConversationContext } from "./context";
import { visibleMax } from "./conversation-access";
import type { Named } from "./identity";
import { toStored } from "./message-tables";
import { memberOf, visiblePins } from "./rich-access";

/** Most messages one answer carries (ChangesRequest.limit is 1..200), and how many when none is asked. */
export const CHANGES_PAGE_MAX = 200;
export const CHANGES_PAGE_DEFAULT = 100;

export function changes(
  c: Pick<ConversationContext, "members" | "messages" | "rich">,
  { conversation, id }: Named,
  query: ChangesQuery,
): ChangesResult {
  const member = memberOf(c, conversation, query.userId, false);
  if ("ok" in member) return member;
  const after = Math.max(0, Math.floor(query.afterModSeq) || 0);
  const limit =
    query.limit > 0 ? Math.min(CHANGES_PAGE_MAX, Math.floor(query.limit) || 1) : CHANGES_PAGE_DEFAULT;
  const maxBytes = Math.max(1, query.maxBytes);
  const newest = c.rich.modSeq();
  if (query.pinsOnly) {
    return {
      ok: true,
      messages: [],
      pinsChanged: true,
      pins: c.rich.pins(),
      modSeq: Math.max(newest, after),
      hasMore: false,
    };
  }
  const messages = [];
  let hasMore = false;
  let used = 0;
  let lastModSeq = after;
  for (const row of c.messages.changedAfter(
    after,
    member.firstSeq,
    visibleMax(c.messages.maxSeq(), member),
  )) {
    const message = toStored(row, id);
    used += encodedSizeBound(message);
    if (messages.length >= limit || (messages.length > 0 && used > maxBytes)) {
      hasMore = true;
      break;
    }
    messages.push(message);
    lastModSeq = row.mod_seq;
  }
  // Where the next request continues: the last change given, or the newest when none is left.
  const modSeq = hasMore ? lastModSeq : Math.max(newest, after);
  const pinsModSeq = c.rich.pinsModSeq();
  const pinsChanged = pinsModSeq > after && pinsModSeq <= modSeq;
  return {
    ok: true,
    messages,
    pinsChanged,
    pins: pinsChanged ? visiblePins(c.rich.pins(), member) : [],
    modSeq,
    hasMore,
  };
}
