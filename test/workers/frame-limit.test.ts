// No frame the server sends exceeds the 1 MiB frame limit (PROTOCOL.md, decision 9), whatever
// the traffic: random bursts of messages up to the content limit, read receipts that fill read_by,
// and syncs of every kind. TestSocket fails any test on an oversized frame; this property drives
// the traffic most likely to make one.
import { env, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { DEFAULT_MESSAGE_MAX_BYTES, MAX_FRAME_BYTES } from "../../src/protocol/limits";
import { createGroup } from "./helpers/groups";
import { api, newUser, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

const MEMBERS = 4;

type Op =
  | { kind: "burst"; from: number; count: number; size: number }
  | { kind: "read"; by: number }
  | { kind: "batchSync"; by: number; follows: boolean; max: number }
  | { kind: "range"; by: number; start: number; count: number };

const member = fc.integer({ min: 0, max: MEMBERS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("burst" as const),
    from: member,
    count: fc.integer({ min: 1, max: 40 }),
    size: fc.constantFrom(10, 20 * 1024, DEFAULT_MESSAGE_MAX_BYTES),
  }),
  fc.record({ kind: fc.constant("read" as const), by: member }),
  fc.record({
    kind: fc.constant("batchSync" as const),
    by: member,
    follows: fc.boolean(),
    max: fc.integer({ min: 1, max: 500 }),
  }),
  fc.record({
    kind: fc.constant("range" as const),
    by: member,
    start: fc.integer({ min: 1, max: 120 }),
    count: fc.integer({ min: 1, max: 500 }),
  }),
);

describe("the frame limit", () => {
  it("holds for every frame, over random traffic of large messages, receipts and syncs", async () => {
    let largest = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 8 }), async (ops) => {
        const users: TestUser[] = [];
        for (let i = 0; i < MEMBERS; i++) users.push(await newUser("f"));
        const [owner, ...rest] = users as [TestUser, ...TestUser[]];
        const group = await createGroup(owner, rest);
        const conversationId = `group_${group.groupID}`;
        // Every member has two devices: the sender's other device gets its gathered sends pushed.
        const phones = await Promise.all(users.map((u) => TestSocket.connect(u, "iOS")));
        const desks = await Promise.all(users.map((u) => TestSocket.connect(u, "macOS")));
        for (const o of ops) {
          const phone = phones[o.kind === "burst" ? o.from : o.by] as TestSocket;
          const user = users[o.kind === "burst" ? o.from : o.by] as TestUser;
          if (o.kind === "burst") {
            const content = new Uint8Array(o.size).fill(0x61);
            const acks = await Promise.all(
              Array.from({ length: o.count }, () =>
                phone.request(
                  Cmd.CMD_SEND_MSG_REQ,
                  pb.SendMessageRequest,
                  {
                    message: {
                      clientMsgId: crypto.randomUUID(),
                      conversationId,
                      senderId: user.userId,
                      messageType: 1,
                      content,
                      sendTime: Date.now(),
                    },
                  },
                  Cmd.CMD_SEND_MSG_RSP,
                  pb.SendMessageResponse,
                ),
              ),
            );
            expect(acks.every((a) => (a.errorCode ?? 0) === Err.ERR_SUCCESS)).toBe(true);
          } else if (o.kind === "read") {
            await phone.request(
              Cmd.CMD_READ_RECEIPT_REQ,
              pb.ReadReceiptRequest,
              { conversationId, serverMsgIds: [] },
              Cmd.CMD_READ_RECEIPT_RSP,
              pb.ReadReceiptResponse,
            );
          } else if (o.kind === "batchSync") {
            const answer = await phone.request(
              Cmd.CMD_BATCH_SYNC_REQ,
              pb.BatchSyncRequest,
              { conversationStates: [], maxCountPerConversation: o.max, followsHasMore: o.follows },
              Cmd.CMD_BATCH_SYNC_RSP,
              pb.BatchSyncResponse,
            );
            expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
          } else {
            const answer = await phone.request(
              Cmd.CMD_SYNC_RANGE_REQ,
              pb.SyncRangeRequest,
              {
                requestId: crypto.randomUUID(),
                conversationId,
                startSeq: o.start,
                endSeq: 0,
                count: o.count,
              },
              Cmd.CMD_SYNC_RANGE_RSP,
              pb.SyncRangeResponse,
            );
            expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
          }
        }
        // A last round trip on every socket, so every push of the run has arrived.
        for (const socket of [...phones, ...desks]) {
          await socket.request(
            Cmd.CMD_HEARTBEAT_REQ,
            pb.HeartbeatRequest,
            {},
            Cmd.CMD_HEARTBEAT_RSP,
            pb.HeartbeatResponse,
          );
          largest = Math.max(largest, socket.largestFrame);
          expect(socket.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES);
          socket.close();
        }
      }),
      { numRuns: 6 },
    );
    expect(largest).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  }, 240_000);

  it("cuts a fan-out delivery that piled up past the limit into several push frames", async () => {
    const [sender, receiver] = [await newUser("s"), await newUser("r")];
    const group = await createGroup(sender, [receiver]);
    const conversationId = `group_${group.groupID}`;
    const senderSocket = await TestSocket.connect(sender);
    const receiverSocket = await TestSocket.connect(receiver);
    // The receiver's object takes its first delivery slowly: meanwhile 30 messages of 64 KiB
    // (about 2 MB) pile up in the group's fan-out and go to it in one call.
    let release = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    await runInDurableObject(env.USER_OBJECT.getByName(receiver.userId), (instance) => {
      const order = instance["deliveryOrder"];
      const deliver = order.deliver.bind(order);
      let first = true;
      order.deliver = async (delivery) => {
        if (first) {
          first = false;
          await slow;
        }
        return deliver(delivery);
      };
    });
    const content = new Uint8Array(DEFAULT_MESSAGE_MAX_BYTES).fill(0x62);
    for (let i = 0; i < 31; i++) {
      const ack = await senderSocket.request(
        Cmd.CMD_SEND_MSG_REQ,
        pb.SendMessageRequest,
        {
          message: {
            clientMsgId: crypto.randomUUID(),
            conversationId,
            senderId: sender.userId,
            messageType: 1,
            content,
            sendTime: Date.now(),
          },
        },
        Cmd.CMD_SEND_MSG_RSP,
        pb.SendMessageResponse,
      );
      expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    }
    release();
    const pushed = await receiverSocket.pushedMessages(31);
    expect(pushed.map((m) => Number(m.seq))).toEqual(
      Array.from({ length: 31 }, (_, i) => Number(pushed[0]?.seq) + i),
    );
    expect(receiverSocket.largestFrame).toBeGreaterThan(MAX_FRAME_BYTES / 2);
    expect(receiverSocket.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    senderSocket.close();
    receiverSocket.close();
  });

  it("counts read_by in a sync's size: 500 small messages, each read by 99 members, are cut to fit", async () => {
    const owner = await newUser("o");
    const readers: TestUser[] = [];
    // 100 members in all: the largest group that lists read_by (GROUP_RECEIPT_MAX_MEMBERS).
    for (let i = 0; i < 99; i++) readers.push(await newUser("r"));
    const group = await createGroup(owner, readers);
    const conversationId = `group_${group.groupID}`;
    const socket = await TestSocket.connect(owner);
    for (let burst = 0; burst < 10; burst++) {
      await Promise.all(
        Array.from({ length: 50 }, () =>
          socket.request(
            Cmd.CMD_SEND_MSG_REQ,
            pb.SendMessageRequest,
            {
              message: {
                clientMsgId: crypto.randomUUID(),
                conversationId,
                senderId: owner.userId,
                messageType: 1,
                content: new Uint8Array(8),
                sendTime: Date.now(),
              },
            },
            Cmd.CMD_SEND_MSG_RSP,
            pb.SendMessageResponse,
          ),
        ),
      );
    }
    for (const reader of readers) {
      const read = await api(`/api/conversations/${conversationId}/read`, {
        method: "POST",
        token: reader.token,
      });
      expect(read.body.code, read.body.message).toBe(0);
    }
    // The owner's view lists every reader of each of its own messages.
    const answer = await socket.request(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      { requestId: "r", conversationId, startSeq: 1, endSeq: 0, count: 500 },
      Cmd.CMD_SYNC_RANGE_RSP,
      pb.SyncRangeResponse,
    );
    expect(answer.messages[0]?.readBy).toHaveLength(99);
    expect(answer.hasMore).toBe(true); // about 1.4 MB of read_by: the answer had to be cut
    expect(Number(answer.endSeq)).toBe(Number(answer.messages[answer.messages.length - 1]?.seq));
    expect(socket.largestFrame).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    socket.close();
  }, 120_000);
});
