// Messages reach a user's inbox by two paths: deliveries from conversation objects' fan-out, and
// the user's own new messages, which the conversation hands back in its answer to the send
// instead of calling again. The inbox takes a conversation's messages in seq order (its max_seq is
// a watermark, and a delivery that skipped seqs would hide them), so a delivery that would skip
// seqs while some of the user's own sends to that conversation are still unanswered waits for
// them: their answers carry the missing seqs. With none in flight it goes in as it is.
import type { Delivery } from "../rpc";

interface Parked {
  delivery: Delivery;
  done: () => void;
  fail: (error: unknown) => void;
}

const firstSeq = (delivery: Delivery) => delivery.messages[0]?.seq ?? 0;

export class DeliveryOrder {
  /** Unanswered sends per conversation. */
  private readonly sending = new Map<string, number>();
  private readonly parked = new Map<string, Parked[]>();

  constructor(
    /** The inbox's highest seq of a conversation. */
    private readonly maxSeq: (conversationId: string) => number,
    /** Puts a delivery into the inbox and pushes it to the devices. */
    private readonly apply: (delivery: Delivery) => void,
  ) {}

  sendStarted(conversationId: string): void {
    this.sending.set(conversationId, (this.sending.get(conversationId) ?? 0) + 1);
  }

  /** A send was answered; `handedBack` holds its new messages when the conversation left them to us. */
  sendFinished(conversationId: string, handedBack: Delivery | null): void {
    const left = (this.sending.get(conversationId) ?? 1) - 1;
    if (left > 0) this.sending.set(conversationId, left);
    else this.sending.delete(conversationId);
    if (handedBack) {
      this.park(
        handedBack,
        () => {},
        (error) => console.error("own messages not applied", error),
      );
    }
    this.drain(conversationId);
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
    waiting.push({ delivery, done, fail });
    this.parked.set(delivery.conversationId, waiting);
  }

  /** Applies, lowest seq first, every parked delivery that skips nothing (or all, with no send out). */
  private drain(conversationId: string): void {
    const waiting = this.parked.get(conversationId);
    if (!waiting) return;
    waiting.sort((a, b) => firstSeq(a.delivery) - firstSeq(b.delivery));
    for (let next = waiting[0]; next; next = waiting[0]) {
      const skips = firstSeq(next.delivery) > this.maxSeq(conversationId) + 1;
      if (skips && this.sending.has(conversationId)) break;
      waiting.shift();
      try {
        this.apply(next.delivery);
        next.done();
      } catch (error) {
        next.fail(error);
      }
    }
    if (waiting.length === 0) this.parked.delete(conversationId);
  }
}
