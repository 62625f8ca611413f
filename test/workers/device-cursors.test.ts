// A device that ignores has_more (the iOS SDK) is never given again what it already holds: its
// stored cursor moves only with BATCH_SYNC answers, and the SDK counts every message it is given
// as a new unread one, so re-giving would make its unread counts drift (device-cursors.ts).
import { describe, expect, it } from "vitest";
import { Cmd, pb, type MessageInfo } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

/** One BATCH_SYNC as the SDK sends it: its stored cursors, 100 per conversation, no has_more. */
function sdkSync(socket: TestSocket, states: Map<string, number>) {
  return socket.request(
    Cmd.CMD_BATCH_SYNC_REQ,
    pb.BatchSyncRequest,
    {
      conversationStates: [...states].map(([conversationId, lastSeq]) => ({ conversationId, lastSeq })),
      maxCountPerConversation: 100,
    },
    Cmd.CMD_BATCH_SYNC_RSP,
    pb.BatchSyncResponse,
  );
}

/** The SDK's side of a session: it stores max_seq from answers, and acks every push at once. */
class SdkDevice {
  readonly cursors = new Map<string, number>();
  readonly given: MessageInfo[] = [];
  socket!: TestSocket;

  constructor(readonly user: TestUser) {}

  async connect(): Promise<void> {
    this.socket = await TestSocket.connect(this.user);
  }

  async sync(): Promise<void> {
    const answer = await sdkSync(this.socket, this.cursors);
    for (const entry of answer.conversationMessages) {
      this.given.push(...(entry.messages ?? []));
      this.cursors.set(entry.conversationId ?? "", Number(entry.maxSeq));
    }
  }

  /** Takes `count` pushed messages, acking each as the SDK does. */
  async receive(count: number): Promise<void> {
    const pushed = await this.socket.pushedMessages(count);
    for (const m of pushed) {
      this.given.push(m);
      this.socket.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: 0 });
    }
  }

  /** Waits until the server has handled everything sent so far (a round trip). */
  async settle(): Promise<void> {
    await this.socket.request(
      Cmd.CMD_HEARTBEAT_REQ,
      pb.HeartbeatRequest,
      {},
      Cmd.CMD_HEARTBEAT_RSP,
      pb.HeartbeatResponse,
    );
  }

  timesGiven(conversationId: string): Map<number, number> {
    const counts = new Map<number, number>();
    for (const m of this.given.filter((g) => g.conversationId === conversationId))
      counts.set(Number(m.seq), (counts.get(Number(m.seq)) ?? 0) + 1);
    return counts;
  }

  close(): void {
    this.socket.close();
  }
}

async function sendMany(from: TestUser, to: TestUser, count: number): Promise<void> {
  const socket = await TestSocket.connect(from, "macOS");
  await Promise.all(
    Array.from({ length: count }, (_, i) => socket.sendText(from.userId, to.userId, `m${i}`)),
  );
  socket.close();
}

describe("device cursors", () => {
  it("gives a device each message once across reconnects: live pushes, a cut answer's catch-up, its own sends", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const device = new SdkDevice(bob);
    // Bob's store knows one conversation (with carol) from an earlier sync, so it lists it: a
    // device that lists nothing is a new one and gets the newest messages (decision 8).
    await sendMany(carol, bob, 1);

    // 1. Online: 30 live pushes from alice, acked; bob sends 5 himself.
    await device.connect();
    await device.sync();
    expect(device.cursors.size).toBe(1);
    await sendMany(alice, bob, 30);
    await device.receive(30);
    for (let i = 0; i < 5; i++) await device.socket.sendText(bob.userId, alice.userId, `own ${i}`);
    await device.settle();
    device.close();
    await device.socket.closed;

    // 2. Offline: 250 more arrive. The SDK never listed this conversation (it knows it from pushes
    // only), yet the answer starts after what the device holds: 100 of them, the rest pushed after
    // it and acked. Nothing in between is skipped.
    await sendMany(alice, bob, 250);
    await device.connect();
    await device.sync();
    expect(device.cursors.get(conversationId)).toBe(35 + 100);
    await device.receive(150);
    await device.settle();
    device.close();
    await device.socket.closed;

    // 3. Back again with nothing new: its stored cursor is 135, but it holds all 285.
    await device.connect();
    await device.sync();
    expect(device.cursors.get(conversationId)).toBe(285);
    const counts = device.timesGiven(conversationId);
    const own = new Set([31, 32, 33, 34, 35]);
    for (let seq = 1; seq <= 285; seq++)
      expect(counts.get(seq) ?? 0, `seq ${seq}`).toBe(own.has(seq) ? 0 : 1);
    device.close();
  });

  it("gives again what a device did not ack, or an answer it did not store, so nothing is lost", async () => {
    const [alice, bob] = [await newUser("alice"), await newUser("bob")];
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const device = new SdkDevice(bob);
    await device.connect();
    await device.sync();
    await sendMany(alice, bob, 20);
    await device.socket.pushedMessages(20); // received, but the connection drops before any ack
    device.close();
    await device.socket.closed;

    await device.connect();
    await device.sync();
    const answer = device.given.filter((m) => m.conversationId === conversationId).map((m) => Number(m.seq));
    expect(answer).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    device.close();
    await device.socket.closed;

    // 30 more while offline; the device's next sync answer is lost (the SDK drops an answer that
    // comes after its 30 s timeout), though it acks the pushes of the rest that follow it.
    await sendMany(alice, bob, 130);
    await device.connect();
    const dropped = await sdkSync(device.socket, device.cursors); // not stored: cursors unchanged
    expect(dropped.conversationMessages.find((c) => c.conversationId === conversationId)?.hasMore).toBe(true);
    await device.receive(30);
    await device.settle();
    device.close();
    await device.socket.closed;
    // Its retry lists its old cursor: the answer it dropped is given again, nothing is skipped.
    await device.connect();
    device.given.length = 0;
    await device.sync();
    const again = device.given.filter((m) => m.conversationId === conversationId).map((m) => Number(m.seq));
    expect(again[0]).toBe(21);
    device.close();
  });

  it("keeps each device's holdings apart; a reinstalled app, a new login or one listing nothing, gets the newest messages", async () => {
    const [alice, bob] = [await newUser("alice"), await newUser("bob")];
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const phone = new SdkDevice(bob);
    await phone.connect();
    await phone.sync();
    await sendMany(alice, bob, 10);
    await phone.receive(10);
    await phone.settle();
    phone.close();
    await phone.socket.closed;

    // A second device of bob's (its own login) listing the conversation from 0 gets all ten.
    const login = await api<{ token: string }>("/api/auth/login", {
      body: { username: bob.username, password: bob.password, platform: "Android" },
    });
    const tablet = new SdkDevice({ ...bob, token: login.body.data!.token });
    tablet.socket = await TestSocket.connect(tablet.user, "Android");
    tablet.cursors.set(conversationId, 0);
    await tablet.sync();
    expect(tablet.given.map((m) => Number(m.seq))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    tablet.close();

    // The phone reinstalled: it logs in again (a new session, a new device) with no stored
    // cursors, so the conversation comes back as for a new device.
    const again = await api<{ token: string }>("/api/auth/login", {
      body: { username: bob.username, password: bob.password, platform: "iOS" },
    });
    const reinstalled = new SdkDevice({ ...bob, token: again.body.data!.token });
    await reinstalled.connect();
    await reinstalled.sync();
    expect(reinstalled.given.map((m) => Number(m.seq))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));

    // The phone itself after a reset of its store (the SDK's resetSync and a cleared database): it
    // lists nothing, so it is given the newest messages again, not only what came after its cursor.
    const reset = new SdkDevice(bob);
    await reset.connect();
    await reset.sync();
    expect(reset.given.map((m) => Number(m.seq))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    reset.close();
    reinstalled.close();
  });

  it("never lets a listed cursor beyond the conversation hide later messages", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const conversationId = singleConversationId(alice.userId, bob.userId);
    await sendMany(carol, bob, 1);
    await sendMany(alice, bob, 5);
    const device = new SdkDevice(bob);
    // A store from before a reset says 10,000: the answer corrects it to 5, which the SDK stores.
    device.cursors.set(conversationId, 10_000);
    await device.connect();
    await device.sync();
    expect(device.cursors.get(conversationId)).toBe(5);
    device.close();
    await device.socket.closed;
    await sendMany(alice, bob, 3);
    await device.connect();
    device.given.length = 0;
    await device.sync();
    expect(device.given.filter((m) => m.conversationId === conversationId).map((m) => Number(m.seq))).toEqual(
      [6, 7, 8],
    );
    device.close();
  });
});
