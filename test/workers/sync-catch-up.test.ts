// A client that ignores has_more (the iOS SDK stores max_seq as its cursor) still gets every
// message its BATCH_SYNC answer left out, pushed after the answer; a client that follows has_more
// gets each message once, from its own requests only (PROTOCOL.md, decision 8).
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb, type Frame, type MessageInfo } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

const CONVERSATIONS = 150;
const MESSAGES_EACH = 120;
/** The SDK's max_count_per_conversation (IMMessageSyncManager.swift). */
const SDK_PAGE = 100;

/** `CONVERSATIONS` peers each send `MESSAGES_EACH` messages to `user`, who is offline. */
async function fillInbox(user: TestUser): Promise<string[]> {
  const ids: string[] = [];
  for (let p = 0; p < CONVERSATIONS; p++) {
    const peer = await newUser("peer");
    const socket = await TestSocket.connect(peer);
    const acks = await Promise.all(
      Array.from({ length: MESSAGES_EACH }, (_, i) => socket.sendText(peer.userId, user.userId, `m${i + 1}`)),
    );
    expect(acks.every((a) => (a.errorCode ?? 0) === Err.ERR_SUCCESS)).toBe(true);
    socket.close();
    ids.push(singleConversationId(peer.userId, user.userId));
  }
  return ids;
}

type Received = Map<string, number[]>;

function record(received: Received, messages: readonly (MessageInfo | null | undefined)[]): void {
  for (const m of messages) {
    if (!m?.conversationId) continue;
    const seqs = received.get(m.conversationId) ?? [];
    seqs.push(Number(m.seq));
    received.set(m.conversationId, seqs);
  }
}

/** Reads pushes the way the SDK does: one MSG_ACK frame per message, at once. */
async function takePushesAndAck(
  socket: TestSocket,
  received: Received,
  until: () => boolean,
): Promise<number> {
  let pushes = 0;
  while (!until()) {
    const frame: Frame = await socket.next(
      (f) => f.command === Cmd.CMD_PUSH_MSG || f.command === Cmd.CMD_BATCH_MSG,
      15_000,
    );
    const messages =
      frame.command === Cmd.CMD_PUSH_MSG
        ? [pb.PushMessage.decode(frame.body).message]
        : pb.BatchMessages.decode(frame.body).messages.map((p) => p.message);
    record(received, messages);
    pushes += messages.length;
    for (const m of messages) {
      socket.send(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m?.serverMsgId ?? "", seq: 0 });
    }
  }
  return pushes;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe("catching up a client that ignores has_more", () => {
  it("gives a new device every message of 150 conversations of 120, each once, whether or not it follows has_more", async () => {
    const user = await newUser("busy");
    const ids = await fillInbox(user);
    const complete = (received: Received, from: number) => () =>
      ids.every((id) => (received.get(id)?.length ?? 0) >= MESSAGES_EACH - from + 1);

    // 1. A new device that never follows has_more (the SDK): the newest SDK_PAGE of each
    // conversation, part in the answer and the rest pushed after it; each cursor it is told is
    // never past what it was given.
    const sdk = await TestSocket.connect(user);
    const answer = await sdk.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      { conversationStates: [], maxCountPerConversation: SDK_PAGE },
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    expect(answer.conversationMessages).toHaveLength(CONVERSATIONS);
    const received: Received = new Map();
    let cut = 0;
    for (const entry of answer.conversationMessages) {
      record(received, entry.messages ?? []);
      const given = (entry.messages ?? []).map((m) => Number(m.seq));
      const lastGiven = given.length > 0 ? Math.max(...given) : MESSAGES_EACH - SDK_PAGE;
      expect(Number(entry.maxSeq)).toBe(lastGiven);
      if (entry.hasMore) cut++;
    }
    expect(cut).toBeGreaterThan(0); // the byte budget cut the answer: the case this is about
    const firstSeq = MESSAGES_EACH - SDK_PAGE + 1;
    await takePushesAndAck(sdk, received, complete(received, firstSeq));
    for (const id of ids)
      expect(received.get(id)?.sort((x, y) => x - y)).toEqual(range(firstSeq, MESSAGES_EACH));
    sdk.close();

    // 2. A device that lists every conversation from seq 0 and ignores has_more: all 120 of each.
    // Another device of the user's (its own login): what the first one holds counts only for it.
    const login = await api<{ token: string }>("/api/auth/login", {
      body: { username: user.username, password: user.password, platform: "iOS" },
    });
    const relisting = await TestSocket.connect({ ...user, token: login.body.data!.token });
    const all: Received = new Map();
    const answer2 = await relisting.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      {
        conversationStates: ids.map((conversationId) => ({ conversationId, lastSeq: 0 })),
        maxCountPerConversation: SDK_PAGE,
      },
      Cmd.CMD_BATCH_SYNC_RSP,
      pb.BatchSyncResponse,
    );
    for (const entry of answer2.conversationMessages) record(all, entry.messages ?? []);
    await takePushesAndAck(relisting, all, complete(all, 1));
    for (const id of ids) expect(all.get(id)?.sort((x, y) => x - y)).toEqual(range(1, MESSAGES_EACH));
    // Every pushed message was acked without a refusal.
    expect(relisting.hasQueued(Cmd.CMD_UNKNOWN)).toBe(false);
    relisting.close();

    // 3. A new device that follows has_more asks for the rest itself and is pushed nothing.
    const follower = await TestSocket.connect(user);
    const followed: Received = new Map();
    const cursors = new Map<string, number>();
    for (let round = 0; round < 50; round++) {
      const states = [...cursors].map(([conversationId, lastSeq]) => ({ conversationId, lastSeq }));
      const page = await follower.request(
        Cmd.CMD_BATCH_SYNC_REQ,
        pb.BatchSyncRequest,
        { conversationStates: states, maxCountPerConversation: SDK_PAGE, followsHasMore: true },
        Cmd.CMD_BATCH_SYNC_RSP,
        pb.BatchSyncResponse,
      );
      for (const entry of page.conversationMessages) {
        record(followed, entry.messages ?? []);
        expect(Number(entry.maxSeq)).toBe(MESSAGES_EACH);
      }
      for (const e of page.conversationMessages) cursors.set(e.conversationId ?? "", Number(e.syncedSeq));
      if (!page.conversationMessages.some((e) => e.hasMore)) break;
    }
    for (const id of ids) expect(followed.get(id)).toEqual(range(firstSeq, MESSAGES_EACH));
    expect(follower.hasQueued(Cmd.CMD_BATCH_MSG) || follower.hasQueued(Cmd.CMD_PUSH_MSG)).toBe(false);
    follower.close();
  }, 300_000);
});
