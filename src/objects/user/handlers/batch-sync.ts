// BATCH_SYNC_REQ (after every AUTH): the user's inbox says which conversations exist and how far
// each goes; the conversation objects hold the messages. What does not fit the answer follows it
// (sync-catch-up.ts) or is asked for with SYNC_RANGE (sync-range.ts).
import { Cmd, Err, pb, type ConversationMessages } from "../../../protocol/codec";
import { parseConversationId } from "../../../protocol/conversation-id";
import { SYNC_RESPONSE_BUDGET_BYTES } from "../../../protocol/limits";
import type { StoredMessage } from "../../message";
import type { ReadResult } from "../../rpc";
import { mapLimited } from "../../../lib/map-limited";
import { decodeBody, deviceOf, reply, RequestError, type FrameContext } from "../frame-context";
import { declaresRich, messageInfoFor } from "../rich-updates";
import { startCatchUp, type LeftOut } from "../sync-catch-up";
import { clampCount, fitPrefix, readConversation } from "../sync-pages";
import { logEvent } from "../../../observability/log";
import { countMetric, Metric } from "../../../observability/metrics";

/** Most conversation states one BATCH_SYNC may list. */
export const MAX_SYNC_CONVERSATIONS = 1_000;
/** Conversation objects read in parallel during one batch sync. */
const READ_CONCURRENCY = 16;

/** Encoded size the entries of one BATCH_SYNC answer may take, leaving the rest for messages. */
const ENTRIES_BUDGET_BYTES = 256 * 1024;

/** The plans whose entries fit ENTRIES_BUDGET_BYTES: those with something new first, in inbox order. */
function fitEntries(plans: SyncPlan[]): SyncPlan[] {
  const behind = (p: SyncPlan) => p.lastSeq === null || p.lastSeq < p.inboxMaxSeq;
  const ordered = [...plans.filter(behind), ...plans.filter((p) => !behind(p))];
  let used = 0;
  let n = 0;
  for (const plan of ordered) {
    used += entryOverhead(plan.conversationId);
    if (used > ENTRIES_BUDGET_BYTES) break;
    n++;
  }
  return n === ordered.length ? plans : ordered.slice(0, n);
}

/** A bound on one ConversationMessages entry without its messages (id, seqs, flags, framing). */
function entryOverhead(conversationId: string): number {
  return 3 * conversationId.length + 64;
}

interface SyncPlan {
  conversationId: string;
  /** The client's last_seq, or null for a conversation the client did not list. */
  lastSeq: number | null;
  inboxMaxSeq: number;
  /** The newest change number the inbox heard of (inbox.ts, noteChange). */
  inboxModSeq: number;
}

type BatchSyncServices = "env" | "inbox" | "deviceCursors" | "deliveredMarks";

export async function batchSync(fc: FrameContext<BatchSyncServices>): Promise<void> {
  const req = decodeBody(fc, pb.BatchSyncRequest);
  const states = req.conversationStates ?? [];
  if (states.length > MAX_SYNC_CONVERSATIONS) {
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${MAX_SYNC_CONVERSATIONS} conversation states`);
  }
  const limit = clampCount(req.maxCountPerConversation);
  const follows = req.followsHasMore === true;
  const listed = new Map<string, number>();
  for (const state of states) {
    const conversation = parseConversationId(state.conversationId ?? "");
    if (!conversation)
      throw new RequestError(Err.ERR_INVALID_PARAM, `malformed conversation_id ${state.conversationId}`);
    listed.set(conversation.id, Math.max(0, Number(state.lastSeq ?? 0)));
  }

  // A client that ignores has_more is given nothing it already holds, and nothing is skipped: its
  // stored cursor never moves with pushes or its own sends, and it never lists a conversation it
  // only knows from pushes, so what the device is known to hold (device-cursors.ts) is where its
  // answer starts. Unlisted and unknown to the device: the newest messages, as for a new device.
  // A device that lists nothing is new or has reset its store: the newest messages of every
  // conversation, as decision 8 says, and what it held before no longer counts.
  const device = deviceOf(fc);
  const useCursors = !follows && listed.size > 0;
  if (!follows && listed.size === 0) fc.deviceCursors.forget(device);
  const allPlans: SyncPlan[] = fc.inbox.entries().map((entry) => {
    const listedSeq = listed.get(entry.conversationId);
    let lastSeq = listedSeq ?? null;
    if (useCursors) {
      // A cursor ahead of the conversation (a store from before a reset) never raises what it holds.
      if (listedSeq !== undefined)
        fc.deviceCursors.listed(device, entry.conversationId, Math.min(listedSeq, entry.maxSeq));
      const held = Math.min(fc.deviceCursors.held(device, entry.conversationId), entry.maxSeq);
      if (held > 0) lastSeq = Math.max(listedSeq ?? 0, held);
    }
    return {
      conversationId: entry.conversationId,
      lastSeq,
      inboxMaxSeq: entry.maxSeq,
      inboxModSeq: entry.modSeq,
    };
  });
  // A listed conversation with nothing in the inbox yet holds nothing for this user to sync.

  // Every conversation's own entry is reserved first, so the messages can never push the answer
  // past the frame limit however many conversations it lists (PROTOCOL.md, decision 9). A user
  // in more conversations than fit (strangers can start one-to-one conversations with anyone) gets
  // those with something new first; the rest come in the next sync.
  const plans = fitEntries(allPlans);
  let budget =
    SYNC_RESPONSE_BUDGET_BYTES - plans.reduce((sum, p) => sum + entryOverhead(p.conversationId), 0);
  const reads = await mapLimited(
    plans,
    READ_CONCURRENCY,
    async (plan): Promise<ReadResult | null | "failed"> => {
      if (plan.lastSeq !== null && plan.lastSeq >= plan.inboxMaxSeq) return null; // nothing new: no read
      try {
        return await readConversation(fc.env, plan.conversationId, {
          userId: fc.state.userId,
          fromSeq: (plan.lastSeq ?? 0) + 1,
          toSeq: 0,
          limit,
          newest: plan.lastSeq === null,
          maxBytes: Math.max(0, budget),
        });
      } catch (error) {
        // One conversation that cannot be read fails itself, not the whole sync.
        logEvent(
          "warn",
          "sync_read_failed",
          { userId: fc.state.userId, conversationId: plan.conversationId },
          error,
        );
        return "failed";
      }
    },
  );

  // A rich_messages socket also learns each conversation's newest change number (mod_seq), from the
  // read or, for a conversation with nothing new (not read), from the changes its inbox heard of.
  const rich = declaresRich(fc.state);
  const conversationMessages: ConversationMessages[] = [];
  const leftOut: LeftOut[] = [];
  let total = 0;
  plans.forEach((plan, i) => {
    let read = reads[i];
    if (read && read !== "failed" && !read.ok) return; // no longer readable by this user: left out
    if (read === "failed") {
      // Said to be behind (has_more), with nothing given: a client asks again, the SDK's cursor
      // stays where it was. Unlisted, it is simply left for the next sync.
      if (plan.lastSeq === null) return;
      read = { ok: true, maxSeq: Math.max(plan.inboxMaxSeq, plan.lastSeq + 1), messages: [] };
    }
    const maxSeq = read ? read.maxSeq : plan.inboxMaxSeq;
    const fetched = read ? read.messages : [];
    // The answer starts after the client's last_seq, or, for a conversation it did not list, at
    // the first of the newest messages read; both are cut to the byte budget in seq order.
    const startAfter = plan.lastSeq ?? (fetched[0] ? fetched[0].seq - 1 : maxSeq);
    const { kept, used } = fitPrefix(fetched, budget);
    budget -= used;
    total += kept.length;
    // A cursor ahead of the conversation (a client's store from before a reset) comes back
    // corrected to max_seq.
    const syncedSeq =
      kept.length > 0 ? (kept[kept.length - 1] as StoredMessage).seq : Math.min(startAfter, maxSeq);
    if (kept.length > 0) fc.deliveredMarks.mark(plan.conversationId, syncedSeq);
    const hasMore = syncedSeq < maxSeq;
    if (hasMore && !follows && reads[i] !== "failed")
      leftOut.push({ conversationId: plan.conversationId, fromSeq: syncedSeq + 1, toSeq: maxSeq });
    const entry: ConversationMessages = {
      conversationId: plan.conversationId,
      messages: kept.map((m) => messageInfoFor(m, rich)),
      // A client that ignores has_more stores max_seq as its cursor: never past what it was given.
      maxSeq: follows ? maxSeq : syncedSeq,
      syncedSeq,
      hasMore,
    };
    if (rich) {
      const modSeq = Math.max(plan.inboxModSeq, read?.modSeq ?? 0);
      if (modSeq > 0) entry.modSeq = modSeq;
    }
    conversationMessages.push(entry);
  });

  reply(fc, Cmd.CMD_BATCH_SYNC_RSP, pb.BatchSyncResponse, {
    errorCode: Err.ERR_SUCCESS,
    conversationMessages,
    serverTime: Date.now(),
    totalMessageCount: total,
  });
  countMetric(Metric.syncMessages, 1, "batch_sync", total);
  // The rest follows the answer as pushes; a client that follows has_more asks for it itself.
  startCatchUp(fc, leftOut);
}
