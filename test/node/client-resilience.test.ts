// The client SDK when the network misbehaves, against a real `wrangler dev`: a socket killed
// mid-stream, pushes lost in transit, sends in flight when the sender's socket dies, and a dead
// link found by the heartbeat. Every case must end with each message exactly once, in order.
import { describe, expect, it } from "vitest";
import type { WebSocketFactory } from "edge-im/client";
import {
  Cmd,
  expectExactlyOnceInOrder,
  pb,
  pushedSeqs,
  range,
  until,
  untilMessages,
  sharedServer,
} from "./helpers/sdk-harness";

const { connected } = sharedServer();

/** A socket factory with a switch: while offline, sockets go to a closed port and fail to open. */
function switchableNetwork() {
  const sockets: WebSocket[] = [];
  let online = true;
  const factory: WebSocketFactory = (url, protocols) => {
    const ws = new WebSocket(online ? url : "ws://127.0.0.1:9/ws", protocols);
    if (online) sockets.push(ws);
    return ws;
  };
  return { sockets, factory, setOnline: (value: boolean) => (online = value) };
}

describe("IMClient resilience", () => {
  it("ends with every message exactly once, in order, after its socket is killed mid-stream", async () => {
    const network = switchableNetwork();
    const bob = await connected("bob", { createWebSocket: network.factory });
    const alice = await connected("alice");
    const conversationId = alice.client.conversationWith(bob.userId);

    const acks: number[] = [];
    let twentySent!: () => void;
    const twenty = new Promise<void>((resolve) => (twentySent = resolve));
    const sending = (async () => {
      for (const i of range(1, 30)) {
        acks.push((await alice.client.sendText(bob.userId, `m ${i}`)).seq);
        if (acks.length === 20) twentySent();
      }
    })();
    await untilMessages(bob, conversationId, 5);
    // Kill Bob's socket from outside, and keep him off the network until Alice has sent 20.
    network.setOnline(false);
    network.sockets.at(-1)!.close();
    await until(bob, "disconnected", () => bob.events.disconnected!.length > 0, "bob's disconnect");
    await twenty;
    await until(
      bob,
      "reconnecting",
      () => bob.events.reconnecting!.length >= 2,
      "a failed attempt while offline",
    );
    network.setOnline(true);
    await sending;
    await untilMessages(bob, conversationId, 30);
    // A fence: once Bob has the 31st, nothing from before can still be on its way.
    await alice.client.sendText(bob.userId, "fence");
    await untilMessages(bob, conversationId, 31);

    expectExactlyOnceInOrder(bob.timeline, conversationId, 31);
    expect(bob.timeline.map((m) => m.text)).toEqual([...range(1, 30).map((i) => `m ${i}`), "fence"]);
    expect(bob.events.disconnected).toHaveLength(1);
    expect(bob.events.connected!.map((c) => c.reconnected)).toEqual([false, true]);
    // The reconnect's batch sync brought what was sent while Bob was away, from his cursor.
    const syncs = bob.sent.filter((f) => f.command === Cmd.CMD_BATCH_SYNC_REQ);
    const resumeFrom = pb.BatchSyncRequest.decode(syncs[1]!.body).conversationStates[0]!;
    expect(resumeFrom.conversationId).toBe(conversationId);
    expect(Number(resumeFrom.lastSeq)).toBeGreaterThanOrEqual(5);
    expect(bob.events.synced![1]!.messages).toBeGreaterThan(0);
  });

  it("detects a gap left by lost pushes and fills it with SYNC_RANGE, page by page", async () => {
    const lost = new Set([3, 4, 5, 6, 7]);
    const droppedSeqs: number[] = [];
    const bob = await connected("bob", {
      syncPageSize: 2,
      hooks: {
        inbound: (frame) => {
          const seqs = pushedSeqs(frame);
          if (!seqs.some((seq) => lost.has(seq))) return true;
          droppedSeqs.push(...seqs); // the whole frame is lost, as on a real network
          return false;
        },
      },
    });
    const alice = await connected("alice");
    const conversationId = alice.client.conversationWith(bob.userId);

    for (const i of range(1, 7)) await alice.client.sendText(bob.userId, `m ${i}`);
    await untilMessages(bob, conversationId, 2);
    // Nothing past seq 2 can be delivered yet: 3..7 never arrived.
    expect(bob.timeline.map((m) => m.seq)).toEqual([1, 2]);
    // Later pushes reveal the gap.
    for (const i of range(8, 10)) await alice.client.sendText(bob.userId, `m ${i}`);
    await untilMessages(bob, conversationId, 10);

    expectExactlyOnceInOrder(bob.timeline, conversationId, 10);
    expect(bob.timeline.map((m) => m.text)).toEqual(range(1, 10).map((i) => `m ${i}`));
    expect(droppedSeqs).toEqual(expect.arrayContaining([3, 4, 5, 6, 7]));
    // Filled with SYNC_RANGE over the hole, in pages of two while has_more, on the same socket.
    const ranges = bob.sent
      .filter((f) => f.command === Cmd.CMD_SYNC_RANGE_REQ)
      .map((f) => pb.SyncRangeRequest.decode(f.body));
    expect(ranges.length).toBeGreaterThanOrEqual(3);
    expect(ranges.map((r) => Number(r.startSeq)).slice(0, 3)).toEqual([3, 5, 7]);
    expect(ranges.every((r) => r.conversationId === conversationId && r.count === 2)).toBe(true);
    expect(bob.events.connected).toHaveLength(1);
    expect(bob.sent.filter((f) => f.command === Cmd.CMD_BATCH_SYNC_REQ)).toHaveLength(1);
    expect(bob.events.error).toEqual([]);
  });

  it("delivers sends that were in flight when the sender's socket died, once each, after reconnect", async () => {
    // From the kill until the client notices, whatever the dying socket receives is lost.
    let dying = false;
    const alice = await connected("alice", { hooks: { inbound: () => !dying } });
    alice.client.on("disconnected", () => (dying = false));
    const bob = await connected("bob");
    const conversationId = alice.client.conversationWith(bob.userId);

    const sends = range(1, 20).map((i) => alice.client.sendText(bob.userId, `burst ${i}`));
    dying = true;
    alice.sockets.at(-1)!.close(); // the 20 frames are out; none of their acks will come back
    const results = await Promise.all(sends);

    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(range(1, 20));
    expect(new Set(results.map((r) => r.serverMsgId)).size).toBe(20);
    await untilMessages(bob, conversationId, 20);
    await untilMessages(alice, conversationId, 20);
    expectExactlyOnceInOrder(bob.timeline, conversationId, 20);
    expectExactlyOnceInOrder(alice.timeline, conversationId, 20);
    expect(new Set(bob.timeline.map((m) => m.text))).toEqual(new Set(range(1, 20).map((i) => `burst ${i}`)));
    await until(alice, "connected", () => alice.events.connected!.length === 2, "alice's reconnect");
    expect(alice.events.connected!.map((c) => c.reconnected)).toEqual([false, true]);
    // Every message went out twice (before the kill, after the reconnect) with the same client_msg_id.
    const ids = alice.sent
      .filter((f) => f.command === Cmd.CMD_SEND_MSG_REQ)
      .map((f) => pb.SendMessageRequest.decode(f.body).message!.clientMsgId);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(20);
  });

  it("reconnects when heartbeats go unanswered", async () => {
    let blackHole = false;
    const alice = await connected("alice", {
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 200,
      hooks: { inbound: (frame) => !(blackHole && frame.command === Cmd.CMD_HEARTBEAT_RSP) },
    });
    blackHole = true;
    await until(alice, "disconnected", () => alice.events.disconnected!.length > 0, "a disconnect");
    expect(alice.events.disconnected![0]).toMatchObject({ reason: "heartbeat timeout", willReconnect: true });
    blackHole = false;
    await until(alice, "connected", () => alice.events.connected!.length === 2, "the reconnect");
    expect(alice.sockets).toHaveLength(2);
  });
});
