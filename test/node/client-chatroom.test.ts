// The client's chatrooms against a real `wrangler dev`: two listeners see one order exactly once,
// sends resolve with the stored message (the same one after a lost ack), a token room admits only
// with its join token, a listener fills a lost push with HISTORY_REQ and resumes after its socket
// dies, acks go out, and a closed room ends for every listener.
import { afterAll, describe, expect, it } from "vitest";
import {
  ErrorCode as Err,
  IMHttpError,
  IMProtocolError,
  type Chatroom,
  type ChatroomMessage,
  type ChatroomEvents,
} from "edge-im/client";
import { account, Cmd, pb, range, sharedServer, untilEvent, type Recorded } from "./helpers/sdk-harness";

const shared = sharedServer();
const rooms: Chatroom[] = [];

afterAll(() => {
  for (const room of rooms) room.leave();
});

/** A client that records what it sends (not connected on /ws: rooms need only their own socket). */
function user(name: string, options?: Parameters<typeof account>[2]): Promise<Recorded> {
  return account(shared.server, name, options);
}

/** Joins and records every message the room delivers, in order. */
async function listen(
  r: Recorded,
  roomId: string,
  joinToken?: string,
): Promise<{ room: Chatroom; timeline: ChatroomMessage[] }> {
  const room = await r.client.joinChatroom(roomId, { joinToken });
  rooms.push(room);
  const timeline: ChatroomMessage[] = [];
  room.on("message", (m) => timeline.push(m));
  return { room, timeline };
}

const seqs = (timeline: ChatroomMessage[]) => timeline.map((m) => m.seq);
const sentCommands = (r: Recorded, command: number) => r.sent.filter((f) => f.command === command);

describe("IMClient chatrooms", () => {
  it("gives two listeners the room's one order, exactly once, their own sends included", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const info = await alice.client.createChatroom({ name: "Launch day" });
    expect(info).toMatchObject({ name: "Launch day", access: "open", creatorId: alice.userId });
    const a = await listen(alice, info.id);
    const b = await listen(bob, info.id);
    expect(a.room.name).toBe("Launch day");

    // Within the default per-sender burst (10): five each, at the same time.
    const write = (room: Chatroom, tag: string) =>
      Promise.all(range(1, 5).map((i) => room.send(`${tag} ${i}`)));
    const [aliceAcks, bobAcks] = await Promise.all([write(a.room, "a"), write(b.room, "b")]);
    expect([...aliceAcks, ...bobAcks].map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(1, 10));
    expect(aliceAcks[0]).toMatchObject({ roomId: info.id, senderId: alice.userId, text: "a 1" });

    await untilEvent(a.room, "message", () => a.timeline.length >= 10, "Alice's 10 messages");
    await untilEvent(b.room, "message", () => b.timeline.length >= 10, "Bob's 10 messages");
    expect(seqs(a.timeline)).toEqual(range(1, 10));
    expect(seqs(b.timeline)).toEqual(range(1, 10));
    expect(b.timeline.map((m) => m.serverMsgId)).toEqual(a.timeline.map((m) => m.serverMsgId));
    // Each one's acked message is the one the room delivered.
    for (const ack of aliceAcks)
      expect(b.timeline.find((m) => m.seq === ack.seq)).toMatchObject({
        serverMsgId: ack.serverMsgId,
        senderId: alice.userId,
        text: ack.text,
      });
    // The socket acknowledges what it read (at most 2 s after it read it).
    const lastAck = () =>
      sentCommands(bob, Cmd.CMD_CHATROOM_ACK)
        .map((f) => Number(pb.ChatroomAck.decode(f.body).seq))
        .at(-1);
    await expect.poll(lastAck, { timeout: 30_000 }).toBe(10);

    // A listener who joins later gets the recent messages first, then what follows.
    const carol = await user("carol");
    const c = await listen(carol, info.id);
    await untilEvent(c.room, "message", () => c.timeline.length >= 10, "Carol's recent messages");
    expect(seqs(c.timeline)).toEqual(range(1, 10));
    await a.room.send("welcome carol");
    await untilEvent(c.room, "message", () => c.timeline.length >= 11, "Carol's 11th message");
    expect(c.timeline.at(-1)).toMatchObject({ seq: 11, text: "welcome carol" });
  });

  it("admits a token room's listener only with a join token from its creator", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const info = await alice.client.createChatroom({ name: "Backstage", access: "token" });
    const closed: ChatroomEvents["closed"][] = [];
    await expect(bob.client.joinChatroom(info.id)).rejects.toThrow(/refused the join/);
    await expect(bob.client.joinChatroom(info.id, { joinToken: "not-a-token" })).rejects.toThrow(
      /refused the join/,
    );
    await expect(bob.client.chatroomJoinToken(info.id)).rejects.toBeInstanceOf(IMHttpError);
    expect(bob.client.chatrooms()).toEqual([]);

    const { token, expiresAt } = await alice.client.chatroomJoinToken(info.id, { ttlSeconds: 600 });
    expect(expiresAt).toBeGreaterThan(Date.now());
    const b = await listen(bob, info.id, token);
    b.room.on("closed", (e) => closed.push(e));
    expect(bob.client.chatrooms()).toEqual([b.room]);
    await b.room.send("in with a token");
    await untilEvent(b.room, "message", () => b.timeline.length >= 1, "Bob's own message");
    expect((await bob.client.chatroomInfo(info.id)).listeners).toBeGreaterThanOrEqual(0);
    b.room.leave();
    expect(closed).toEqual([{ reason: "left", message: "left the room" }]);
    expect(bob.client.chatrooms()).toEqual([]);
    await expect(b.room.send("after leaving")).rejects.toThrow(/left/);
  });

  it("ends a token room as refused when a rejoin finds its join token expired, instead of retrying forever", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const info = await alice.client.createChatroom({ name: "Brief", access: "token" });
    const { token, expiresAt } = await alice.client.chatroomJoinToken(info.id, { ttlSeconds: 2 });
    const b = await listen(bob, info.id, token);
    const ended: ChatroomEvents["closed"][] = [];
    b.room.on("closed", (e) => ended.push(e));
    // Waits the token out (its exp has second precision), then loses the socket.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1_100));
    bob.sockets.find((ws) => ws.url.includes("/ws/chatroom/"))?.close();
    await untilEvent(b.room, "closed", () => ended.length > 0, "the end of the refused rejoin");
    expect(ended[0]).toMatchObject({ reason: "refused", message: expect.stringMatching(/expired/) });
  });

  it("fills a lost push with HISTORY_REQ, resumes after its socket dies, and resends a send whose ack was lost", async () => {
    let dropPushes = false;
    let droppedAck: { seq: number; serverMsgId: string } | null = null;
    const alice = await user("alice", {
      ackTimeoutMs: 500,
      hooks: {
        inbound: (frame) => {
          if (frame.command !== Cmd.CMD_CHATROOM_SEND_RSP || droppedAck) return true;
          const answer = pb.ChatroomSendResponse.decode(frame.body);
          droppedAck = { seq: Number(answer.seq), serverMsgId: answer.serverMsgId }; // the network loses it
          return false;
        },
      },
    });
    const bob = await user("bob", {
      hooks: { inbound: (frame) => !(dropPushes && frame.command === Cmd.CMD_CHATROOM_PUSH) },
    });
    const info = await alice.client.createChatroom({ name: "Lossy" });
    const a = await listen(alice, info.id);
    const b = await listen(bob, info.id);

    const first = await a.room.send("ack lost");
    expect(droppedAck).not.toBeNull();
    expect(first).toMatchObject(droppedAck!);
    const resends = sentCommands(alice, Cmd.CMD_CHATROOM_SEND_REQ).map(
      (f) => pb.ChatroomSendRequest.decode(f.body).clientMsgId,
    );
    expect(resends.length).toBeGreaterThanOrEqual(2);
    expect(new Set(resends).size).toBe(1);

    // Bob loses pushes 2 and 3; push 4 shows the hole, and the room fills it.
    await untilEvent(b.room, "message", () => b.timeline.length >= 1, "Bob's first message");
    dropPushes = true;
    await a.room.send("lost 2");
    await a.room.send("lost 3");
    dropPushes = false;
    await a.room.send("shows the hole");
    await untilEvent(b.room, "message", () => b.timeline.length >= 4, "Bob's 4 messages");
    expect(seqs(b.timeline)).toEqual([1, 2, 3, 4]);
    expect(b.timeline.map((m) => m.text)).toEqual(["ack lost", "lost 2", "lost 3", "shows the hole"]);
    const asked = sentCommands(bob, Cmd.CMD_CHATROOM_HISTORY_REQ).map((f) =>
      Number(pb.ChatroomHistoryRequest.decode(f.body).afterSeq),
    );
    expect(asked).toEqual([1]);

    // Bob's socket dies; messages sent meanwhile come once he is back, after what he had.
    const reconnected = untilEvent(b.room, "joined", () => b.room.connected, "Bob's rejoin");
    const socket = bob.sockets.find((ws) => ws.url.includes("/ws/chatroom/"));
    socket?.close();
    await a.room.send("while away 5");
    await a.room.send("while away 6");
    await reconnected;
    await untilEvent(b.room, "message", () => b.timeline.length >= 6, "Bob's 6 messages");
    expect(seqs(b.timeline)).toEqual(range(1, 6));
    await a.room.send("back 7");
    await untilEvent(b.room, "message", () => b.timeline.length >= 7, "Bob's 7 messages");
    expect(seqs(b.timeline)).toEqual(range(1, 7));
  });

  it("fails a send the room refuses with the room's code after one transmission, and refuses an oversize send itself", async () => {
    // As with a server that does not tell its content limit: the room alone judges the size.
    const hideLimit = (frame: { command: number; body: Uint8Array }) => {
      if (frame.command !== Cmd.CMD_CHATROOM_JOINED) return;
      const joined = pb.ChatroomJoined.decode(frame.body);
      frame.body = pb.ChatroomJoined.encode({ ...joined, messageMaxBytes: 0 }).finish();
    };
    // One try, and an ack timeout far past the room's answer: only the answer's client_msg_id settles it.
    const alice = await user("alice", { ackTimeoutMs: 10_000, maxResends: 0, hooks: { inbound: hideLimit } });
    const info = await alice.client.createChatroom({ name: "Limits" });
    const a = await listen(alice, info.id);
    const oversize = "x".repeat(64 * 1024);
    const refused = await a.room.send(oversize).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IMProtocolError);
    expect(refused).toMatchObject({ code: Err.ERR_MESSAGE_TOO_LARGE, command: Cmd.CMD_CHATROOM_SEND_REQ });
    expect(sentCommands(alice, Cmd.CMD_CHATROOM_SEND_REQ)).toHaveLength(1);
    const badId = await a.room.send({ content: "hi", clientMsgId: "i".repeat(65) }).catch((e: unknown) => e);
    expect(badId).toMatchObject({ code: Err.ERR_INVALID_PARAM });

    // A client that was told the limit at its join refuses the send without a round trip.
    const bob = await user("bob");
    const b = await listen(bob, info.id);
    await expect(b.room.send(oversize)).rejects.toMatchObject({ code: Err.ERR_MESSAGE_TOO_LARGE });
    expect(sentCommands(bob, Cmd.CMD_CHATROOM_SEND_REQ)).toHaveLength(0);
    expect((await b.room.send("fits")).seq).toBe(1);
  });

  it("heartbeats on the room socket, and comes back when a heartbeat goes unanswered", async () => {
    let dropBeats = false;
    const alice = await user("alice", {
      heartbeatIntervalMs: 300,
      heartbeatTimeoutMs: 5_000,
      hooks: { inbound: (frame) => !(dropBeats && frame.command === Cmd.CMD_HEARTBEAT_RSP) },
    });
    const info = await alice.client.createChatroom({ name: "Heartbeat" });
    const a = await listen(alice, info.id);
    const joins: ChatroomEvents["joined"][] = [];
    const lost: ChatroomEvents["disconnected"][] = [];
    a.room.on("joined", (e) => joins.push(e));
    a.room.on("disconnected", (e) => lost.push(e));
    const beats = () => sentCommands(alice, Cmd.CMD_HEARTBEAT_REQ).length;
    await expect.poll(beats, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(lost).toEqual([]); // answered: the socket stays

    dropBeats = true;
    await untilEvent(
      a.room,
      "disconnected",
      () => lost.length > 0,
      "the close after an unanswered heartbeat",
    );
    expect(lost[0]).toMatchObject({ reason: "heartbeat timeout", willReconnect: true });
    dropBeats = false;
    await untilEvent(a.room, "joined", () => joins.some((j) => j.rejoined), "the rejoin");
    await a.room.send("still here");
    await untilEvent(a.room, "message", () => a.timeline.length >= 1, "the message after the rejoin");
    expect(a.timeline.map((m) => m.text)).toEqual(["still here"]);
  });

  it("ends a listener's room as session when its session ends elsewhere (logout of every session)", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const info = await alice.client.createChatroom({ name: "Session room" });
    const b = await listen(bob, info.id);
    const ended: ChatroomEvents["closed"][] = [];
    b.room.on("closed", (e) => ended.push(e));
    // Bob's other device, on the same login, logs every session out.
    const other = await account(shared.server, "bob-other", {}, bob.client.session ?? undefined);
    await other.client.logout({ all: true });
    await untilEvent(b.room, "closed", () => ended.length > 0, "Bob's room ended");
    expect(ended[0]).toEqual({ reason: "session", message: "Session ended" });
    // The room itself goes on for the others.
    const a = await listen(alice, info.id);
    expect((await a.room.send("still here")).seq).toBeGreaterThan(0);
  });

  it("ends a closed room for every listener and refuses later joins", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const info = await alice.client.createChatroom({ name: "Short-lived" });
    const a = await listen(alice, info.id);
    const b = await listen(bob, info.id);
    const ended: ChatroomEvents["closed"][] = [];
    b.room.on("closed", (e) => ended.push(e));
    await expect(bob.client.closeChatroom(info.id)).rejects.toBeInstanceOf(IMHttpError); // not his
    await alice.client.closeChatroom(info.id);
    await untilEvent(b.room, "closed", () => ended.length > 0, "Bob's room closed");
    expect(ended[0]?.reason).toBe("closed");
    await untilEvent(a.room, "closed", () => a.room.endedBecause !== null, "Alice's room closed");
    expect(a.room.endedBecause?.reason).toBe("closed");
    await expect(bob.client.joinChatroom(info.id)).rejects.toThrow(/does not exist/);
    await expect(bob.client.chatroomInfo(info.id)).rejects.toMatchObject({ code: 404 });
  });
});
