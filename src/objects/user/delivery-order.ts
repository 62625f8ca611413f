// Messages reach a user's inbox by two paths: deliveries from conversation objects' fan-out, and
// the user's own new messages, which the conversation hands back in its answer to the send
// instead of calling again. The inbox takes a conversation's messages in seq order (its max_seq is
// a watermark, and a delivery that skipped seqs would hide them for good), so:
// - a delivery that would skip seqs while some of the user's own sends to that conversation are
//   unanswered waits for them: their answers carry the missing seqs;
// - one that would skip seqs with none in flight (an answer that never arrived, or an inbox write
//   that failed) first has the missing messages read from the conversation, then goes in.
import type { DeliveredMessage } from "../message";
import type { Delivery } from "../rpc";
import { logEvent } from "../../observability/log";

/** Most messages one gap fill reads; a longer gap is left to the clients' SYNC_RANGE. */
export const MAX_GAP_FILL = 200;

interface Parked {
  delivery: Delivery;
  done: () => void;
  fail: (error: unknown) => void;
  /** The gap before it was filled (or the fill failed): it goes in as it is now. */
  filled: boolean;
}

const firstSeq = (delivery: Delivery) => delivery.messages[0]?.seq ?? 0;

export interface InboxAccess {
  /** The inbox's highest seq of a conversation. */
  maxSeq(conversationId: string): number;
  /** Puts a delivery into the inbox and pushes it to the devices. */
  apply(delivery: Delivery): void;
  /** Reads messages from..to of a conversation the user may see, from its object. */
  read(delivery: Delivery, fromSeq: number, toSeq: number): Promise<DeliveredMessage[]>;
}

export class DeliveryOrder {
  /** Unanswered sends per conversation. */
  private readonly sending = new Map<string, number>();
  private readonly parked = new Map<string, Parked[]>();
  /** Conversations whose gap is being read: nothing else goes into their inbox row meanwhile. */
  private readonly filling = new Set<string>();

  constructor(private readonly inbox: InboxAccess) {}

  sendStarted(conversationId: string): void {
    this.sending.set(conversationId, (this.sending.get(conversationId) ?? 0) + 1);
  }

  /** A send was answered (or failed); `handedBack` holds its new messages when left to us. */
  sendFinished(conversationId: string, handedBack: Delivery | null): void {
    const left = (this.sending.get(conversationId) ?? 1) - 1;
    if (left > 0) this.sending.set(conversationId, left);
    else this.sending.delete(conversationId);
    if (handedBack) {
      this.park(
        handedBack,
        () => {},
        (error) => logEvent("error", "own_messages_not_applied", {}, error),
      );
    }
    this.drain(conversationId);
  }

  /**
   * The inbox must hold `seq`: a send's answer named it as already stored (a resend after a lost
   * answer), and the conversation, having handed it back the first time, will not deliver it
   * again. Reads what the inbox misses up to it and delivers that in its turn.
   */
  async ensureHeld(
    delivery: Omit<Delivery, "messages" | "visibleFrom">,
    resent: { seqs: ReadonlySet<number>; originSession: string },
  ): Promise<void> {
    const seq = Math.max(0, ...resent.seqs);
    const from = this.inbox.maxSeq(delivery.conversationId) + 1;
    if (from > seq) return;
    const template: Delivery = { ...delivery, messages: [], visibleFrom: from };
    // The resending device had its answers: it gets no push of its own messages, whichever
    // socket first sent them.
    const messages = (await this.inbox.read(template, from, seq)).map((m) =>
      resent.seqs.has(m.seq) ? { ...m, originSession: resent.originSession } : m,
    );
    const [first] = messages;
    if (first) await this.deliver({ ...template, messages, visibleFrom: first.seq });
  }

  /**
   * Resolves once the inbox holds `seq` of the conversation, or after `timeoutMs` (a delivery that
   * never comes, its object reset): a revoke must reach the devices after the message it revokes.
   */
  whenHeld(conversationId: string, seq: number, timeoutMs: number): Promise<void> {
    if (this.inbox.maxSeq(conversationId) >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { seq, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        const list = this.holders.get(conversationId);
        list?.splice(list.indexOf(waiter), 1);
        if (list?.length === 0) this.holders.delete(conversationId);
        resolve();
      }, timeoutMs);
      const list = this.holders.get(conversationId) ?? [];
      list.push(waiter);
      this.holders.set(conversationId, list);
    });
  }

  private readonly holders = new Map<string, { seq: number; resolve: () => void }[]>();

  /** Wakes whoever waits for seqs the inbox now holds. */
  private wakeHolders(conversationId: string): void {
    const list = this.holders.get(conversationId);
    if (!list) return;
    const held = this.inbox.maxSeq(conversationId);
    const ready = list.filter((w) => w.seq <= held);
    if (ready.length === 0) return;
    const rest = list.filter((w) => w.seq > held);
    if (rest.length > 0) this.holders.set(conversationId, rest);
    else this.holders.delete(conversationId);
    for (const w of ready) w.resolve();
  }

  /** A delivery from the fan-out: settles once it is in the inbox. */
  deliver(delivery: Delivery): Promise<void> {
    return new Promise((done, fail) => {
      this.park(delivery, done, fail);
      this.drain(delivery.conversationId);
    });
  }

  private park(delivery: Delivery, done: () => void, fail: (error: unknown) => void): void {
    const waiting = this.parked.get(delivery.conversationId) ?? [];
    waiting.push({ delivery, done, fail, filled: false });
    this.parked.set(delivery.conversationId, waiting);
  }

  /** The first seq the inbox is missing for this delivery (nothing before it joined counts). */
  private nextSeq(delivery: Delivery): number {
    return Math.max(this.inbox.maxSeq(delivery.conversationId) + 1, delivery.visibleFrom);
  }

  /** Applies, lowest seq first, every parked delivery that skips nothing (see the file comment). */
  private drain(conversationId: string): void {
    if (this.filling.has(conversationId)) return;
    const waiting = this.parked.get(conversationId);
    if (!waiting) return;
    waiting.sort((a, b) => firstSeq(a.delivery) - firstSeq(b.delivery));
    for (let next = waiting[0]; next; next = waiting[0]) {
      const from = this.nextSeq(next.delivery);
      if (firstSeq(next.delivery) > from && !next.filled) {
        if (!this.sending.has(conversationId)) void this.fillGap(next, from);
        return;
      }
      waiting.shift();
      try {
        this.inbox.apply(next.delivery);
        next.done();
      } catch (error) {
        next.fail(error);
      }
      this.wakeHolders(conversationId);
    }
    this.parked.delete(conversationId);
  }

  private async fillGap(before: Parked, from: number): Promise<void> {
    const { conversationId } = before.delivery;
    this.filling.add(conversationId);
    try {
      const to = Math.min(firstSeq(before.delivery) - 1, from + MAX_GAP_FILL - 1);
      const missing = await this.inbox.read(before.delivery, from, to);
      if (missing.length > 0) {
        this.inbox.apply({ ...before.delivery, messages: missing });
        this.wakeHolders(conversationId);
      }
    } catch (error) {
      // The delivery goes in with its gap, which the clients see in the seqs and fill themselves.
      logEvent("warn", "gap_not_filled", { conversationId, seq: firstSeq(before.delivery) }, error);
    } finally {
      before.filled = true;
      this.filling.delete(conversationId);
      this.drain(conversationId);
    }
  }
}
