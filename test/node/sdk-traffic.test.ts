// The SDK's own traffic never trips a per-socket limit (PROTOCOL.md, decision 16): a busy receiver
// answers every pushed message with its own MSG_ACK frame at once, keeps its heartbeats, and after a
// reconnect asks for every hole with SYNC_RANGE at once. Run against the real `npm run dev` with
// the default per-socket limits, over WebSocket and over the TCP gateway.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount } from "./helpers/http-accounts";
import { Cmd, Err, NodeImClient, pb } from "./helpers/im-client";
import { SdkTcpClient } from "./helpers/sdk-tcp-client";

type MessageInfo = InstanceType<typeof pb.MessageInfo>;

let server: DevServer;
beforeAll(async () => {
  // Only the per-user send rate is raised, so one sender can push 2,000 messages quickly; every
  // per-socket limit keeps its default.
  server = await startDevServer({
    vars: { SEND_RATE_PER_SECOND: "100000", SEND_BURST: "100000", BCRYPT_COST: "4" },
  });
});
afterAll(async () => {
  await server?.stop();
});

type Account = Awaited<ReturnType<typeof newAccount>>;
const account = (name: string) => newAccount(server.origin, name);

const conversationOf = (a: string, b: string) => `single_${[a, b].sort().join("_")}`;

/** What the test needs of a receiving device, over either transport, behaving as the SDK does. */
interface Device {
  /** The messages of the next PUSH_MSG or BATCH_MSG. */
  nextPush(timeoutMs: number): Promise<MessageInfo[]>;
  ack(message: MessageInfo): void;
  /** HEARTBEAT_REQ; resolves when it is answered. */
  heartbeat(): Promise<void>;
  /** Whether an ErrorNotice (CMD_UNKNOWN) arrives within `ms`. */
  errorNoticeWithin(ms: number): Promise<boolean>;
  close(): void;
}

function pushedMessages(command: number, body: Uint8Array): MessageInfo[] | null {
  if (command === Cmd.CMD_PUSH_MSG) return [pb.PushMessage.decode(body).message as MessageInfo];
  if (command === Cmd.CMD_BATCH_MSG)
    return pb.BatchMessages.decode(body).messages.map((p) => p.message as MessageInfo);
  return null;
}

const isPush = (f: { command: number }) => f.command === Cmd.CMD_PUSH_MSG || f.command === Cmd.CMD_BATCH_MSG;

async function webSocketDevice(user: Account): Promise<Device> {
  const client = await NodeImClient.connect(server.wsOrigin, user.userId, user.token);
  return {
    nextPush: async (timeoutMs) => {
      const frame = await client.next(isPush, timeoutMs);
      return pushedMessages(frame.command, frame.body) ?? [];
    },
    ack: (m) => client.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: 0 }),
    heartbeat: async () => {
      await client.request(
        Cmd.CMD_HEARTBEAT_REQ,
        pb.HeartbeatRequest,
        { clientTime: Date.now() },
        Cmd.CMD_HEARTBEAT_RSP,
        pb.HeartbeatResponse,
      );
    },
    errorNoticeWithin: (ms) =>
      client
        .next((f) => f.command === Cmd.CMD_UNKNOWN, ms)
        .then(
          () => true,
          () => false,
        ),
    close: () => client.close(),
  };
}

async function tcpDevice(user: Account): Promise<Device> {
  const client = await SdkTcpClient.connect(server.tcpPort, user.userId, user.token);
  return {
    nextPush: async (timeoutMs) => {
      const packet = await client.next(isPush, timeoutMs);
      return pushedMessages(packet.command, packet.body) ?? [];
    },
    ack: (m) => client.post(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: 0 }),
    heartbeat: async () => {
      const answer = await client.heartbeat();
      expect(answer.command).toBe(Cmd.CMD_HEARTBEAT_RSP);
    },
    errorNoticeWithin: (ms) =>
      client
        .next((p) => p.command === Cmd.CMD_UNKNOWN, ms)
        .then(
          () => true,
          () => false,
        ),
    close: () => client.close(),
  };
}

const TOTAL = 2_000;
const BURST = 100;

async function busyReceiver(open: (user: Account) => Promise<Device>): Promise<void> {
  const [alice, bob] = [await account("alice"), await account("bob")];
  const conversationId = conversationOf(alice.userId, bob.userId);
  const sender = await NodeImClient.connect(server.wsOrigin, alice.userId, alice.token);
  const receiver = await open(bob);

  // The SDK acks every pushed message with one frame, as soon as it arrives.
  const seqs: number[] = [];
  const reading = (async () => {
    while (seqs.length < TOTAL) {
      for (const m of await receiver.nextPush(30_000)) {
        seqs.push(Number(m.seq));
        receiver.ack(m);
      }
    }
  })();
  let heartbeats = 0;
  for (let sent = 0; sent < TOTAL; sent += BURST) {
    const acks = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        sender.sendText(conversationId, alice.userId, bob.userId, `m${sent + i}`),
      ),
    );
    expect(acks.every((a) => (a.errorCode ?? 0) === Err.ERR_SUCCESS)).toBe(true);
    await receiver.heartbeat(); // answered, between bursts, at any load
    heartbeats++;
  }
  await reading;
  await receiver.heartbeat();
  expect(heartbeats + 1).toBe(TOTAL / BURST + 1);
  expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  expect(await receiver.errorNoticeWithin(500)).toBe(false);

  // Every ack landed: the sender sees its last message delivered once the marks are written.
  await expect
    .poll(
      async () => {
        const page = await sender.request(
          Cmd.CMD_SYNC_RANGE_REQ,
          pb.SyncRangeRequest,
          { requestId: crypto.randomUUID(), conversationId, startSeq: TOTAL, endSeq: TOTAL },
          Cmd.CMD_SYNC_RANGE_RSP,
          pb.SyncRangeResponse,
        );
        return page.messages[0]?.status;
      },
      { timeout: 10_000, interval: 250 },
    )
    .toBe(2);
  receiver.close();
  sender.close();
}

describe("the SDK's own traffic", () => {
  it("lets a device receiving 2,000 messages in bursts ack each one and keep its heartbeats, over WebSocket", async () => {
    await busyReceiver(webSocketDevice);
  });

  it("does the same over the TCP gateway", async () => {
    await busyReceiver(tcpDevice);
  });

  it("answers in full the burst of SYNC_RANGE a reconnect sends for 200 messages in 50 conversations with holes", async () => {
    const carol = await account("carol");
    const conversations: string[] = [];
    for (let p = 0; p < 50; p++) {
      const peer = await account("peer");
      const conversationId = conversationOf(peer.userId, carol.userId);
      const socket = await NodeImClient.connect(server.wsOrigin, peer.userId, peer.token);
      for (let i = 0; i < 4; i++) {
        const ack = await socket.sendText(conversationId, peer.userId, carol.userId, `hole ${i}`);
        expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
      }
      socket.close();
      conversations.push(conversationId);
    }
    // Carol's device comes back over TCP, syncs, and asks for every missing message at once.
    const device = await SdkTcpClient.open(server.tcpPort);
    expect((await device.auth(carol.userId, carol.token)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const ranges = conversations.flatMap((conversationId) =>
      [1, 2, 3, 4].map((seq) =>
        device.request(
          Cmd.CMD_SYNC_RANGE_REQ,
          pb.SyncRangeRequest,
          { requestId: `${conversationId}:${seq}`, conversationId, startSeq: seq, endSeq: seq, count: 100 },
          pb.SyncRangeResponse,
        ),
      ),
    );
    const answers = await Promise.all(ranges);
    expect(answers).toHaveLength(200);
    for (const answer of answers) {
      expect(answer.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
      expect(answer.messages).toHaveLength(1);
    }
    device.close();
  });
});
