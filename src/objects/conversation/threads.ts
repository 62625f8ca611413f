// THREAD: a message (the root, which the reader must be able to see) and the replies quoting it that
// the reader can see, oldest first, paged by seq.
import { Err } from "../../protocol/codec";
import { refusal, type ThreadQuery, type ThreadResult } from "../rpc";
import type { ConversationContext } from "./context";
import { encodedSizeBound } from "../message";
import { visibleMax } from "./conversation-access";
import type { Named } from "./identity";
import { takeWithinBytes } from "./page-bytes";
import { memberAndMessage } from "./rich-access";

/** Most replies one page carries (ThreadRequest.limit is 1..100), and how many when none is asked. */
export const THREAD_PAGE_MAX = 100;
export const THREAD_PAGE_DEFAULT = 50;

export function thread(
  c: Pick<ConversationContext, "members" | "messages">,
  { conversation, id }: Named,
  query: ThreadQuery,
): ThreadResult {
  const found = memberAndMessage(c, conversation, id, query.userId, query.rootServerMsgId, false);
  if ("ok" in found) {
    return found.code === Err.ERR_INVALID_PARAM
      ? refusal(Err.ERR_INVALID_PARAM, "no such root message")
      : found;
  }
  const { member, message: root } = found;
  const limit =
    query.limit > 0 ? Math.min(THREAD_PAGE_MAX, Math.floor(query.limit) || 1) : THREAD_PAGE_DEFAULT;
  const after = Math.max(root.seq, member.firstSeq - 1, Math.floor(query.afterSeq) || 0);
  const upTo = visibleMax(c.messages.maxSeq(), member);
  // One past the page tells whether more follow; the cursor reads no further.
  const rows = c.messages.replies(root.seq, after, upTo)[Symbol.iterator]();
  const page = [];
  for (let i = 0; i <= limit; i++) {
    const next = rows.next();
    if (next.done) break;
    page.push(next.value);
  }
  // The root travels in the same answer: the replies get what it leaves of the budget (at least one
  // reply always goes, so a reader never gets stuck).
  const budget = Math.max(1, query.maxBytes - encodedSizeBound(root));
  const replies = takeWithinBytes(page.slice(0, limit), id, budget);
  return { ok: true, root, replies, hasMore: page.length > replies.length };
}
