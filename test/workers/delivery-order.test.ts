import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../../src/objects/message";
import type { Delivery } from "../../src/objects/rpc";
import { DeliveryOrder } from "../../src/objects/user/delivery-order";

const CONVERSATION = "single_a_b";

function delivery(...seqs: number[]): Delivery {
  return {
    recipientId: "a",
    conversationId: CONVERSATION,
    conversationType: 1,
    visibleFrom: 1,
    messages: seqs.map((seq) => ({ seq }) as StoredMessage),
  };
}

/** An inbox that records what went in, keeping the highest seq as the real one does. */
function inbox() {
  const applied: number[][] = [];
  let maxSeq = 0;
  const order = new DeliveryOrder(
    () => maxSeq,
    (d) => {
      const fresh = d.messages.map((m) => m.seq).filter((seq) => seq > maxSeq);
      applied.push(fresh);
      maxSeq = Math.max(maxSeq, ...fresh);
    },
  );
  return { order, applied };
}

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
};

describe("delivery order between the fan-out and the user's own sends", () => {
  it("holds a delivery that skips seqs while an own send is unanswered, then applies both in order", async () => {
    const { order, applied } = inbox();
    await order.deliver(delivery(1, 2));
    order.sendStarted(CONVERSATION);
    // The peer's message 5 overtakes the answer to our send, which holds 3 and 4.
    const peer = order.deliver(delivery(5));
    expect(await settled(peer)).toBe(false);
    order.sendFinished(CONVERSATION, delivery(3, 4));
    await peer;
    expect(applied).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("applies a skipping delivery at once when no own send is out (the gap is the client's to fill)", async () => {
    const { order, applied } = inbox();
    await order.deliver(delivery(4, 5));
    expect(applied).toEqual([[4, 5]]);
  });

  it("lets a skipping delivery through once every own send is answered, even one that handed nothing back", async () => {
    const { order, applied } = inbox();
    order.sendStarted(CONVERSATION);
    order.sendStarted(CONVERSATION);
    const peer = order.deliver(delivery(3));
    order.sendFinished(CONVERSATION, delivery(1));
    expect(await settled(peer)).toBe(false);
    order.sendFinished(CONVERSATION, null); // its messages come by the fan-out instead
    await peer;
    expect(applied).toEqual([[1], [3]]);
  });

  it("orders two devices' answers that come back the wrong way round", () => {
    const { order, applied } = inbox();
    order.sendStarted(CONVERSATION);
    order.sendStarted(CONVERSATION);
    order.sendFinished(CONVERSATION, delivery(3, 4)); // the second device's batch answered first
    order.sendFinished(CONVERSATION, delivery(1, 2));
    expect(applied).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("fails a delivery whose inbox write throws, so the conversation retries it", async () => {
    const order = new DeliveryOrder(
      () => 0,
      () => {
        throw new Error("disk full");
      },
    );
    await expect(order.deliver(delivery(1))).rejects.toThrow("disk full");
  });
});
