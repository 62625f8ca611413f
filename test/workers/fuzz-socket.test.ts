// Fuzzing a real UserObject through a real socket: at least 100,000 random, mutated and
// out-of-state frames per run. Every frame must be answered (a response with its error code, or an
// ErrorNotice), the object must keep serving, and no refused frame may change any state.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { newUser, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

/** Frames per run, in batches of FRAMES_PER_BATCH followed by a heartbeat probe. */
const TOTAL_FRAMES = 100_000;
const FRAMES_PER_BATCH = 25;
/** Fuzzing takes minutes, not the default 30 s. */
const FUZZ_TIMEOUT_MS = 600_000;

const PUSHES = new Set<number>([
  Cmd.CMD_PUSH_MSG,
  Cmd.CMD_BATCH_MSG,
  Cmd.CMD_REVOKE_MSG_PUSH,
  Cmd.CMD_READ_RECEIPT_PUSH,
  Cmd.CMD_TYPING_STATUS_PUSH,
  Cmd.CMD_STATUS_CHANGE_PUSH,
  Cmd.CMD_KICK_OUT,
]);
const REQUESTS = [1, 3, 5, 100, 102, 200, 203, 205, 300, 303, 400, 500, 600];
const SERVER_ONLY = [
  0, 2, 4, 6, 101, 103, 104, 201, 202, 204, 206, 207, 301, 302, 304, 401, 402, 501, 502, 601,
];
const PROBE_SEQUENCE = 0xfffffff0;

const frame = (command: number, sequence: number, body: Uint8Array) =>
  pb.WebSocketMessage.encode({ command, sequence, body, timestamp: Date.now() }).finish();

/** Arbitrary bodies for each request type, with values that are sometimes valid and mostly not. */
function bodies(self: TestUser, peer: TestUser): fc.Arbitrary<[number, Uint8Array]> {
  const conversationId = fc.oneof(
    fc.constant(singleConversationId(self.userId, peer.userId)),
    fc.constant(`group_${peer.userId}`),
    fc.constant(`system_${self.userId}`),
    fc.constant("chatroom_x"),
    fc.string({ maxLength: 80 }),
  );
  const id = fc.oneof(fc.string({ maxLength: 70 }), fc.constant(peer.userId), fc.constant(self.userId));
  const int64 = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constant(0), fc.maxSafeNat());
  const message = fc.record(
    {
      clientMsgId: fc.oneof(fc.uuid(), fc.string({ maxLength: 80 })),
      conversationId,
      senderId: id,
      receiverId: id,
      messageType: fc.integer({ min: -5, max: 200 }),
      content: fc.uint8Array({ maxLength: 300 }),
      sendTime: int64,
      extra: fc.string({ maxLength: 50 }),
    },
    { requiredKeys: [] },
  );
  const encode = <T>(
    command: number,
    type: { encode(m: T): { finish(): Uint8Array } },
    arb: fc.Arbitrary<T>,
  ) => arb.map((m) => [command, type.encode(m).finish()] as [number, Uint8Array]);
  return fc.oneof(
    encode(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, fc.record({ message }, { requiredKeys: [] })),
    encode(Cmd.CMD_MSG_ACK, pb.MessageAck, fc.record({ serverMsgId: id, seq: int64 })),
    encode(Cmd.CMD_REVOKE_MSG_REQ, pb.RevokeMessageRequest, fc.record({ serverMsgId: id, conversationId })),
    encode(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      fc.record({
        conversationStates: fc.array(fc.record({ conversationId, lastSeq: int64 }), { maxLength: 30 }),
        maxCountPerConversation: fc.integer({ min: -10, max: 10_000 }),
      }),
    ),
    encode(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      fc.record({
        requestId: fc.string({ maxLength: 40 }),
        conversationId,
        startSeq: int64,
        endSeq: int64,
        count: fc.integer(),
      }),
    ),
    encode(
      Cmd.CMD_READ_RECEIPT_REQ,
      pb.ReadReceiptRequest,
      fc.record({ serverMsgIds: fc.array(id, { maxLength: 20 }), conversationId }),
    ),
    encode(
      Cmd.CMD_TYPING_STATUS_REQ,
      pb.TypingStatusRequest,
      fc.record({ conversationId, status: fc.integer() }),
    ),
    encode(
      Cmd.CMD_ONLINE_STATUS_REQ,
      pb.OnlineStatusRequest,
      fc.record({ userIds: fc.array(id, { maxLength: 20 }) }),
    ),
    encode(
      Cmd.CMD_CONNECT_REQ,
      pb.ConnectRequest,
      fc.record({ platform: fc.string({ maxLength: 40 }), clientId: fc.string() }),
    ),
    encode(Cmd.CMD_HEARTBEAT_REQ, pb.HeartbeatRequest, fc.record({ clientTime: int64 })),
    // AUTH with a wrong token closes the socket, so it comes rarely; the unauthenticated run covers it.
    fc.constant(0).chain(() =>
      fc.oneof(
        {
          weight: 1,
          arbitrary: encode(
            Cmd.CMD_AUTH_REQ,
            pb.AuthRequest,
            fc.record({ userId: id, token: fc.string({ maxLength: 200 }) }),
          ),
        },
        {
          weight: 30,
          arbitrary: encode(Cmd.CMD_HEARTBEAT_REQ, pb.HeartbeatRequest, fc.record({ clientTime: int64 })),
        },
      ),
    ),
    // Huge repeated fields.
    encode(
      Cmd.CMD_ONLINE_STATUS_REQ,
      pb.OnlineStatusRequest,
      fc.constant({ userIds: Array.from({ length: 5_000 }, (_, i) => `u${i}`) }),
    ),
    encode(
      Cmd.CMD_READ_RECEIPT_REQ,
      pb.ReadReceiptRequest,
      fc.constant({
        conversationId: singleConversationId(self.userId, peer.userId),
        serverMsgIds: Array(5_000).fill("x"),
      }),
    ),
  );
}

/** Bytes that break the schema: wrong wire types for known field numbers, stray tags, bad lengths. */
const wrongTypes = fc
  .array(
    fc.tuple(fc.integer({ min: 1, max: 30 }), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 12 })),
    {
      maxLength: 6,
    },
  )
  .map((fields) => {
    const out: number[] = [];
    for (const [field, wire, payload] of fields) {
      out.push((field << 3) | wire);
      if (wire === 2) out.push(payload.length);
      out.push(...payload);
    }
    return new Uint8Array(out);
  });

function mutate(bytes: Uint8Array, how: number, at: number, value: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  switch (how) {
    case 0:
      return copy.slice(0, i); // truncated
    case 1:
      copy[i] = value; // one byte changed
      return copy;
    default:
      return new Uint8Array([...copy.slice(0, i), value, ...copy.slice(i)]); // one byte inserted
  }
}

function frames(self: TestUser, peer: TestUser): fc.Arbitrary<Uint8Array> {
  const valid = fc
    .tuple(bodies(self, peer), fc.nat({ max: 1_000_000 }))
    .map(([[command, body], sequence]) => frame(command, sequence + 1, body));
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    {
      weight: 3,
      arbitrary: fc
        .tuple(valid, fc.nat(2), fc.nat(), fc.nat(255))
        .map(([b, how, at, v]) => mutate(b, how, at, v)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constantFrom(...REQUESTS, ...SERVER_ONLY), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
          fc.nat(),
          wrongTypes,
        )
        .map(([command, sequence, body]) => frame(command, sequence + 1, body)),
    },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  );
}

/** How many answers a frame must get: [at least, at most], and whether it may close the socket. */
function expectation(bytes: Uint8Array, authed: boolean): { min: number; max: number; mayClose: boolean } {
  let command: number;
  try {
    command = pb.WebSocketMessage.decode(bytes).command;
  } catch {
    return { min: 1, max: 1, mayClose: false }; // ErrorNotice: undecodable
  }
  if (command === Cmd.CMD_DISCONNECT_REQ || command === Cmd.CMD_AUTH_REQ || command === Cmd.CMD_REAUTH_REQ) {
    return { min: 0, max: 1, mayClose: true };
  }
  // A valid ack or typing status has no answer; a malformed one gets an ErrorNotice.
  if (authed && (command === Cmd.CMD_MSG_ACK || command === Cmd.CMD_TYPING_STATUS_REQ))
    return { min: 0, max: 1, mayClose: false };
  return { min: 1, max: 1, mayClose: false };
}

interface Tally {
  frames: number;
  answers: number;
  closes: number;
  acceptedSends: Set<string>;
}

async function fuzz(self: TestUser, peer: TestUser, authed: boolean, total: number): Promise<Tally> {
  const tally: Tally = { frames: 0, answers: 0, closes: 0, acceptedSends: new Set() };
  const open = () => (authed ? TestSocket.connect(self) : TestSocket.open(self.token));
  let socket = await open();
  const details = await fc.check(
    fc.asyncProperty(
      fc.array(frames(self, peer), { minLength: FRAMES_PER_BATCH, maxLength: FRAMES_PER_BATCH }),
      async (batch) => {
        let min = 0;
        let max = 0;
        let mayClose = false;
        for (const bytes of batch) {
          const e = expectation(bytes, authed);
          min += e.min;
          max += e.max;
          mayClose ||= e.mayClose;
          socket.sendRaw(bytes);
        }
        tally.frames += batch.length;
        socket.ws.send(frame(Cmd.CMD_HEARTBEAT_REQ, PROBE_SEQUENCE, new Uint8Array()));
        // Frames are handled in order: once the probe is answered, every frame before it was too.
        const isProbe = (f: { command: number; sequence: number }) =>
          f.command === Cmd.CMD_HEARTBEAT_RSP && f.sequence === PROBE_SEQUENCE;
        const drained = await Promise.race([
          socket.drainUntil(isProbe, 20_000).catch(() => null),
          socket.closed.then(() => "closed" as const),
        ]);
        const countAccepted = (answers: { command: number; body: Uint8Array }[]) => {
          for (const f of answers) {
            if (f.command !== Cmd.CMD_SEND_MSG_RSP) continue;
            const rsp = pb.SendMessageResponse.decode(f.body);
            if ((rsp.errorCode ?? 0) === Err.ERR_SUCCESS) tally.acceptedSends.add(rsp.serverMsgId ?? "");
          }
        };
        if (drained === "closed") {
          if (!mayClose) throw new Error("the socket closed without a frame that may close it");
          // What was answered before the close still counts: a send there may have been stored.
          countAccepted(socket.drainAll());
          tally.closes++;
          socket = await open();
          return;
        }
        if (drained === null) throw new Error("the probe was not answered: the object stopped serving");
        const answers = drained.filter((f) => !PUSHES.has(f.command));
        countAccepted(answers);
        if (answers.length < min - (mayClose ? 1 : 0) || answers.length > max) {
          throw new Error(`expected ${min}..${max} answers to ${batch.length} frames, got ${answers.length}`);
        }
        tally.answers += answers.length;
      },
    ),
    { numRuns: Math.ceil(total / FRAMES_PER_BATCH), endOnFailure: true },
  );
  if (details.failed) {
    // The counterexample is megabytes of bytes: report the seed to replay it instead.
    throw new Error(
      `fuzzing failed after ${details.numRuns} batches (seed ${details.seed}): ${String(details.errorInstance)}`,
    );
  }
  socket.close();
  return tally;
}

describe("socket fuzzing", () => {
  it(
    "answers 100,000 random and mutated frames on an authenticated socket and changes nothing it refused",
    async () => {
      const [self, peer] = [await newUser("fuzz"), await newUser("peer")];
      const tally = await fuzz(self, peer, true, TOTAL_FRAMES);
      console.log(
        `fuzz (authenticated): ${tally.frames} frames, ${tally.answers} answers, ${tally.closes} closes, ` +
          `${tally.acceptedSends.size} sends accepted`,
      );
      expect(tally.frames).toBeGreaterThanOrEqual(TOTAL_FRAMES);
      // The only state frames may change is through the requests they got accepted: the inbox
      // holds exactly the accepted sends.
      const check = await TestSocket.open(self.token);
      await expect
        .poll(async () => (await check.auth(self.userId, self.token)).maxSeq, { timeout: 10_000 })
        .toBe(tally.acceptedSends.size);
      check.close();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "refuses everything but CONNECT, HEARTBEAT and AUTH before authentication, and stores nothing",
    async () => {
      const [self, peer] = [await newUser("fuzz"), await newUser("peer")];
      const tally = await fuzz(self, peer, false, 10_000);
      expect(tally.acceptedSends.size).toBe(0);
      const check = await TestSocket.connect(self);
      const sync = await check.request(
        Cmd.CMD_BATCH_SYNC_REQ,
        pb.BatchSyncRequest,
        {},
        Cmd.CMD_BATCH_SYNC_RSP,
        pb.BatchSyncResponse,
      );
      expect(sync.conversationMessages).toHaveLength(0);
      expect((await check.auth(self.userId, self.token)).maxSeq).toBe(0);
      check.close();
    },
    FUZZ_TIMEOUT_MS,
  );
});
