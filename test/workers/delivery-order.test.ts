import { describe, expect, it } from "vitest";
import type { DeliveredMessage } from "../../src/objects/message";
import type { Delivery } from "../../src/objects/rpc";
import { DeliveryOrder } from "../../src/objects/user/delivery-order";

const CONVERSATION = "single_a_b";

function delivery(seqs: number[], visibleFrom = 1): Delivery {
  return {
    recipientId: "a",
    conversationId: CONVERSATION,
    conversationType: 1,
    visibleFrom,
    messages: seqs.map((seq) => ({ seq }) as DeliveredMessage),
  };
}

/**
 * An inbox that records what went in, keeping the highest seq as the real one does, beside a
 * conversation holding seqs 1..stored that the gap fill reads from (or fails to).
 */
function inbox(stored = 100, readFails = false) {
  const applied: number[][] = [];
  const reads: [number, number][] = [];
  let maxSeq = 0;
  const order = new DeliveryOrder({
    maxSeq: () => maxSeq,
    apply: (d) => {
      const fresh = d.messages.map((m) => m.seq).filter((seq) => seq > maxSeq);
      applied.push(fresh);
      maxSeq = Math.max(maxSeq, ...fresh);
    },
    read: async (_d, from, to) => {
      reads.push([from, to]);
      if (readFails) throw new Error("conversation unreachable");
      return delivery(Array.from({ length: Math.min(to, stored) - from + 1 }, (_, i) => from + i)).messages;
    },
  });
  return { order, applied, reads };
}

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe("delivery order between the fan-out and the user's own sends", () => {
  it("holds a delivery that skips seqs while an own send is unanswered, then applies both in order", async () => {
    const { order, applied, reads } = inbox();
    await order.deliver(delivery([1, 2]));
    order.sendStarted(CONVERSATION);
    // The peer's message 5 overtakes the answer to our send, which holds 3 and 4.
    const peer = order.deliver(delivery([5]));
    expect(await settled(peer)).toBe(false);
    order.sendFinished(CONVERSATION, delivery([3, 4]));
    await peer;
    expect(applied).toEqual([[1, 2], [3, 4], [5]]);
    expect(reads).toEqual([]); // nothing had to be read back
  });

  it("reads the seqs a delivery would skip when no own send can bring them (a lost answer)", async () => {
    const { order, applied, reads } = inbox();
    await order.deliver(delivery([1]));
    order.sendStarted(CONVERSATION);
    order.sendFinished(CONVERSATION, null); // the answer with 2 and 3 never came
    await order.deliver(delivery([4, 5]));
    expect(reads).toEqual([[2, 3]]);
    expect(applied).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("lets the delivery in with its gap when the read fails, for the clients to fill", async () => {
    const { order, applied } = inbox(100, true);
    await order.deliver(delivery([3]));
    expect(applied).toEqual([[3]]);
  });

  it("counts nothing before a new group member's first visible seq as missing", async () => {
    const { order, applied, reads } = inbox();
    order.sendStarted(CONVERSATION); // the new member is already sending
    await order.deliver(delivery([50, 51], 50));
    expect(applied).toEqual([[50, 51]]);
    expect(reads).toEqual([]);
    order.sendFinished(CONVERSATION, null);
  });

  it("orders two devices' answers that come back the wrong way round", () => {
    const { order, applied } = inbox();
    order.sendStarted(CONVERSATION);
    order.sendStarted(CONVERSATION);
    order.sendFinished(CONVERSATION, delivery([3, 4])); // the second device's batch answered first
    order.sendFinished(CONVERSATION, delivery([1, 2]));
    expect(applied).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("fails a delivery whose inbox write throws, so the conversation retries it", async () => {
    const order = new DeliveryOrder({
      maxSeq: () => 0,
      apply: () => {
        throw new Error("disk full");
      },
      read: async () => [],
    });
    await expect(order.deliver(delivery([1]))).rejects.toThrow("disk full");
  });
});
