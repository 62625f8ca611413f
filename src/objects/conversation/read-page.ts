// A member's page of messages, a range from a seq or the newest page, each with its status as the
// reader sees it. A member reads only from the seq they joined at up to where they left. Nothing is
// marked delivered here: the reader may cut the page to fit a frame, so it marks what it actually
// gave the device (user/delivered-marks.ts); a one-to-one page of the reader's own messages asks
// the peer's object what its devices have (peer-delivered.ts).
import { Err } from "../../protocol/codec";
import { refusal, type ReadQuery, type ReadResult } from "../rpc";
import { annotate } from "./annotate";
import type { ConversationContext } from "./context";
import { memberFor, visibleMax } from "./conversation-access";
import type { Named } from "./identity";
import { newestWithinBytes, withinBytes } from "./page-bytes";

export async function readPage(
  c: Pick<ConversationContext, "members" | "messages" | "rich" | "settings" | "peerDelivered">,
  named: Named,
  query: ReadQuery,
): Promise<ReadResult> {
  const { conversation, id } = named;
  const member = memberFor(c.members, conversation, query.userId);
  if (!member) return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  const maxSeq = visibleMax(c.messages.maxSeq(), member);
  const upTo = query.toSeq > 0 ? Math.min(query.toSeq, maxSeq) : maxSeq;
  const maxBytes = Math.max(1, query.maxBytes);
  const page = query.newest
    ? c.messages.newest(upTo, query.limit, id, maxBytes)
    : c.messages.range(Math.max(member.firstSeq, query.fromSeq), upTo, query.limit, id, maxBytes);
  const visible = page.filter((m) => m.seq >= member.firstSeq);
  // The change number goes with the page as read: an edit or revoke while the peer is asked (other
  // calls run meanwhile) is past it, so the device asks for it, instead of keeping the old content
  // under a number that says it has it.
  const modSeq = c.rich.modSeq();
  if (query.statuses !== false) {
    await c.peerDelivered.learn(named, query.userId, visible);
    annotate(c.members, c.settings().groupReceiptMaxMembers, conversation, query.userId, visible);
  }
  // Annotation adds read_by: the page is cut again to its bound with it.
  const messages = query.newest ? newestWithinBytes(visible, maxBytes) : withinBytes(visible, maxBytes);
  return { ok: true, maxSeq, messages, modSeq };
}
