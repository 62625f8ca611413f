// The client SDK against a real `wrangler dev`: sending and receiving in order, a resend after a
// lost ack, typed errors, and catching up from stored cursors with a paged batch sync.
import { describe, expect, it } from "vitest";
import { ErrorCode, IMProtocolError, MemoryStore } from "edge-im/client";
import {
  account,
  Cmd,
  expectExactlyOnceInOrder,
  pb,
  range,
  untilMessages,
  type Recorded,
  sharedServer,
} from "./helpers/sdk-harness";

const shared = sharedServer();
const { open, connected } = shared;

describe("IMClient messaging", () => {
  it("gives two users who write at the same time the same timeline, in seq order, exactly once", async () => {
    const alice = await connected("alice");
    const bob = await connected("bob");
    const conversationId = alice.client.conversationWith(bob.userId);
    expect(bob.client.conversationWith(alice.userId)).toBe(conversationId);

    const write = async (from: Recorded, to: Recorded, tag: string) => {
      const acks = [];
      for (let i = 1; i <= 10; i++) acks.push(await from.client.sendText(to.userId, `${tag} ${i}`));
      return acks;
    };
    const [aliceAcks, bobAcks] = await Promise.all([write(alice, bob, "a"), write(bob, alice, "b")]);
    // Each user's acks are strictly increasing, and together they are 1..20 without a gap.
    expect(aliceAcks.map((a) => a.seq)).toEqual([...aliceAcks.map((a) => a.seq)].sort((x, y) => x - y));
    expect([...aliceAcks, ...bobAcks].map((a) => a.seq).sort((x, y) => x - y)).toEqual(range(1, 20));

    await untilMessages(alice, conversationId, 20);
    await untilMessages(bob, conversationId, 20);
    expectExactlyOnceInOrder(alice.timeline, conversationId, 20);
    expectExactlyOnceInOrder(bob.timeline, conversationId, 20);
    expect(bob.timeline.map((m) => m.serverMsgId)).toEqual(alice.timeline.map((m) => m.serverMsgId));
    // Each user's own messages appear in the order they were written, with the acked ids.
    expect(bob.timeline.filter((m) => m.senderId === alice.userId).map((m) => m.text)).toEqual(
      range(1, 10).map((i) => `a ${i}`),
    );
    expect(alice.timeline.filter((m) => m.senderId === alice.userId).map((m) => m.serverMsgId)).toEqual(
      aliceAcks.map((a) => a.serverMsgId),
    );
    // The batch events carry the same messages as the message events.
    expect(bob.batches.flat().map((m) => m.serverMsgId)).toEqual(bob.timeline.map((m) => m.serverMsgId));
    // Bob acknowledged what was pushed to him from Alice.
    const acked = bob.sent
      .filter((f) => f.command === Cmd.CMD_MSG_ACK)
      .map((f) => pb.MessageAck.decode(f.body));
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.every((a) => aliceAcks.some((x) => x.serverMsgId === a.serverMsgId))).toBe(true);
  });

  it("resends with the same client_msg_id after a lost ack and gets the same seq and id back", async () => {
    let dropped: ReturnType<typeof pb.SendMessageResponse.decode> | null = null;
    const alice = await connected("alice", {
      ackTimeoutMs: 500,
      hooks: {
        inbound: (frame) => {
          if (frame.command !== Cmd.CMD_SEND_MSG_RSP || dropped) return true;
          dropped = pb.SendMessageResponse.decode(frame.body); // the network loses the first ack
          return false;
        },
      },
    });
    const bob = await connected("bob");
    const conversationId = alice.client.conversationWith(bob.userId);

    const result = await alice.client.sendText(bob.userId, "ack lost");
    expect(dropped).not.toBeNull();
    const lost = dropped as unknown as { seq: number; serverMsgId: string; clientMsgId: string };
    expect(result).toMatchObject({
      seq: lost.seq,
      serverMsgId: lost.serverMsgId,
      clientMsgId: lost.clientMsgId,
    });
    expect(result.seq).toBe(1);

    // Two SEND_MSG_REQ frames went out with byte-identical bodies (same client_msg_id).
    const sends = alice.sent.filter((f) => f.command === Cmd.CMD_SEND_MSG_REQ);
    expect(sends).toHaveLength(2);
    expect(sends[1]!.body).toEqual(sends[0]!.body);
    expect(pb.SendMessageRequest.decode(sends[0]!.body).message?.clientMsgId).toBe(result.clientMsgId);

    // The server stored it once: the next message is seq 2 and Bob sees each exactly once.
    expect((await alice.client.sendText(bob.userId, "next")).seq).toBe(2);
    await untilMessages(bob, conversationId, 2);
    expectExactlyOnceInOrder(bob.timeline, conversationId, 2);
    expectExactlyOnceInOrder(alice.timeline, conversationId, 2);
  });

  it("rejects a send the server refuses with a typed error carrying the error code", async () => {
    const alice = await connected("alice");
    const error = await alice.client.sendText("nobody-here", "hello?").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IMProtocolError);
    expect(error).toMatchObject({
      kind: "protocol",
      code: ErrorCode.ERR_USER_NOT_EXIST,
      command: Cmd.CMD_SEND_MSG_REQ,
    });
    const bad = await alice.client.send({ conversationId: "group_", content: "x" }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ kind: "invalid" });
  });

  it("catches up after being offline from its stored cursors, page by page, and resumes a store", async () => {
    const alice = await connected("alice");
    const store = new MemoryStore();
    const bob = await connected("bob", { store, syncPageSize: 3 });
    const conversationId = alice.client.conversationWith(bob.userId);
    for (const i of range(1, 2)) await alice.client.sendText(bob.userId, `live ${i}`);
    await untilMessages(bob, conversationId, 2);

    bob.client.disconnect();
    for (const i of range(3, 12)) await alice.client.sendText(bob.userId, `offline ${i}`);
    await bob.client.connect();
    // connect() resolves after the batch sync: 10 messages in pages of 3 took four rounds.
    expectExactlyOnceInOrder(bob.timeline, conversationId, 12);
    const synced = bob.events.synced!;
    expect(synced.at(-1)).toEqual({ rounds: 4, messages: 10 });
    const request = bob.sent.filter((f) => f.command === Cmd.CMD_BATCH_SYNC_REQ).at(-4)!;
    expect(pb.BatchSyncRequest.decode(request.body).conversationStates).toEqual([
      expect.objectContaining({ conversationId, lastSeq: 2 }),
    ]);

    // A new client on the same store starts from the stored cursor: only what is new arrives.
    bob.client.disconnect();
    await alice.client.sendText(bob.userId, "while away");
    const again = await account(shared.server, "bob", { store }, bob.client.session!);
    open.push(again);
    await again.client.connect();
    expect(again.timeline.map((m) => [m.seq, m.text])).toEqual([[13, "while away"]]);
    expect(await store.getMessages(conversationId)).toHaveLength(13);
    expect(again.client.cursors().get(conversationId)).toBe(13);
    expect(again.events.synced).toEqual([{ rounds: 1, messages: 1 }]);
  });
});
