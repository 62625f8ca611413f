// The TCP gateway started by `npm run dev`, driven by a client that frames, checks and numbers
// packets as the SDK's source does (helpers/sdk-tcp-client.ts), against the real worker.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../../src/gateway/server.ts";
import { silentLogger } from "../../src/gateway/log.ts";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount, postJson } from "./helpers/http-accounts";
import { Cmd, Err, pb, sdkCrc16, sdkPacket, SdkTcpClient } from "./helpers/sdk-tcp-client";
import { singleConversationId } from "../../src/protocol/conversation-id.ts";

let server: DevServer;
beforeAll(async () => {
  // A short slow-reader limit so the slow-reader case ends quickly; every other limit is the default.
  // The send rate is lifted so the slow-reader case can push quickly.
  server = await startDevServer({
    gatewaySlowReaderMs: 2_000,
    vars: { SEND_RATE_PER_SECOND: "100000", SEND_BURST: "100000" },
  });
});
afterAll(async () => {
  await server?.stop();
});

const post = async <T>(path: string, body: unknown, token?: string) =>
  (await postJson<T>(server.origin, path, body, token)).body;
const account = (name: string) => newAccount(server.origin, name);

/** Makes two accounts friends: presence (ONLINE_STATUS) is shown to friends only. */
async function befriend(a: { userId: string; token: string }, b: { userId: string; token: string }) {
  expect((await post("/api/friend/add", { userID: b.userId, message: "" }, a.token)).code).toBe(0);
  expect((await post("/api/friend/accept", { userID: a.userId }, b.token)).code).toBe(0);
}

const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());

function sendText(client: SdkTcpClient, conversationId: string, from: string, to: string, content: string) {
  return client.request(
    Cmd.CMD_SEND_MSG_REQ,
    pb.SendMessageRequest,
    {
      message: {
        clientMsgId: crypto.randomUUID(),
        conversationId,
        senderId: from,
        receiverId: to,
        messageType: 1,
        content: new TextEncoder().encode(content),
        sendTime: Date.now(),
      },
    },
    pb.SendMessageResponse,
  );
}

/** A fresh user that can still authenticate and heartbeat: the gateway is serving. */
async function stillServes() {
  const user = await account("alive");
  const client = await SdkTcpClient.connect(server.tcpPort, user.userId, user.token);
  const beat = await client.heartbeat();
  expect(beat.command).toBe(Cmd.CMD_HEARTBEAT_RSP);
  expect(client.corruption).toBeNull();
  client.close();
}

describe("TCP gateway: the SDK's session", () => {
  it("answers CONNECT and an empty HEARTBEAT before AUTH, and refuses other requests there", async () => {
    const client = await SdkTcpClient.open(server.tcpPort);
    const connected = await client.requestPacket(Cmd.CMD_CONNECT_REQ, pb.ConnectRequest, { platform: "iOS" });
    expect(connected.command).toBe(Cmd.CMD_CONNECT_RSP);
    expect(pb.ConnectResponse.decode(connected.body).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const beat = await client.heartbeat();
    expect(beat.command).toBe(Cmd.CMD_HEARTBEAT_RSP);
    expect(Number(pb.HeartbeatResponse.decode(beat.body).serverTime)).toBeGreaterThan(0);

    const sync = await client.requestPacket(Cmd.CMD_BATCH_SYNC_REQ, pb.BatchSyncRequest, {});
    expect(sync.command).toBe(Cmd.CMD_BATCH_SYNC_RSP);
    expect(pb.BatchSyncResponse.decode(sync.body).errorCode).toBe(Err.ERR_AUTH_FAILED);
    client.post(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId: "x", status: 1 });
    const notice = pb.ErrorNotice.decode((await client.next((p) => p.command === Cmd.CMD_UNKNOWN)).body);
    expect(notice).toMatchObject({ errorCode: Err.ERR_AUTH_FAILED, refCommand: Cmd.CMD_TYPING_STATUS_REQ });
    expect(client.corruption).toBeNull();
    client.close();
  });

  it("answers a bad token with AUTH_RSP ERR_AUTH_FAILED and closes the connection", async () => {
    const client = await SdkTcpClient.open(server.tcpPort);
    const auth = await client.auth("nobody", "not-a-jwt");
    expect(auth.errorCode).toBe(Err.ERR_AUTH_FAILED);
    await client.closed;
    expect(client.corruption).toBeNull();
  });

  it("carries one-to-one messages, sync, receipts, typing and revoke both ways", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    const conversationId = singleConversationId(alice.userId, bob.userId);
    const a = await SdkTcpClient.connect(server.tcpPort, alice.userId, alice.token);
    const b = await SdkTcpClient.connect(server.tcpPort, bob.userId, bob.token);
    expect((await a.heartbeat()).command).toBe(Cmd.CMD_HEARTBEAT_RSP);

    const acks = [];
    for (let i = 1; i <= 3; i++)
      acks.push(await sendText(a, conversationId, alice.userId, bob.userId, `hi ${i}`));
    expect(acks.map((ack) => [ack.errorCode ?? 0, ack.seq])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
    const pushed = await b.pushed(3);
    expect(pushed.map((m) => [m.seq, text(m.content), m.senderId])).toEqual([
      [1, "hi 1", alice.userId],
      [2, "hi 2", alice.userId],
      [3, "hi 3", alice.userId],
    ]);
    for (const m of pushed) b.post(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: 0 });
    const reply = await sendText(b, conversationId, bob.userId, alice.userId, "hello alice");
    expect((await a.pushed(1)).map((m) => [m.seq, text(m.content)])).toEqual([[reply.seq, "hello alice"]]);

    // B's device holds 1..4 (it acked 1-3 and sent 4), so a sync from its stale cursor gives
    // nothing twice and moves its cursor on (device cursors); a client following has_more gets
    // what it asks for.
    const syncFrom = (followsHasMore: boolean) =>
      b.request(
        Cmd.CMD_BATCH_SYNC_REQ,
        pb.BatchSyncRequest,
        {
          conversationStates: [{ conversationId, lastSeq: 1 }],
          maxCountPerConversation: 100,
          followsHasMore,
        },
        pb.BatchSyncResponse,
      );
    const sdkSync = await syncFrom(false);
    expect(sdkSync.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const sdkEntry = sdkSync.conversationMessages.find((c) => c.conversationId === conversationId)!;
    expect(sdkEntry.messages ?? []).toEqual([]);
    expect(Number(sdkEntry.maxSeq)).toBe(4);
    const sync = await syncFrom(true);
    const entry = sync.conversationMessages.find((c) => c.conversationId === conversationId)!;
    expect((entry.messages ?? []).map((m) => m.seq)).toEqual([2, 3, 4]);
    const range = await b.request(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      { requestId: "gap", conversationId, startSeq: 1, endSeq: 2, count: 10 },
      pb.SyncRangeResponse,
    );
    expect(range.requestId).toBe("gap");
    expect(range.messages.map((m) => text(m.content))).toEqual(["hi 1", "hi 2"]);

    const read = await b.request(
      Cmd.CMD_READ_RECEIPT_REQ,
      pb.ReadReceiptRequest,
      { conversationId, serverMsgIds: [acks[2]!.serverMsgId!] },
      pb.ReadReceiptResponse,
    );
    expect(read.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const receipt = pb.ReadReceiptPush.decode(
      (await a.next((p) => p.command === Cmd.CMD_READ_RECEIPT_PUSH)).body,
    );
    expect(receipt).toMatchObject({ conversationId, userId: bob.userId });

    a.post(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, { conversationId, status: 1 });
    const typing = pb.TypingStatusPush.decode(
      (await b.next((p) => p.command === Cmd.CMD_TYPING_STATUS_PUSH)).body,
    );
    expect(typing).toMatchObject({ conversationId, userId: alice.userId, status: 1 });

    const revoked = await a.request(
      Cmd.CMD_REVOKE_MSG_REQ,
      pb.RevokeMessageRequest,
      { conversationId, serverMsgId: acks[0]!.serverMsgId },
      pb.RevokeMessageResponse,
    );
    expect(revoked.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const revokePush = pb.RevokeMessagePush.decode(
      (await b.next((p) => p.command === Cmd.CMD_REVOKE_MSG_PUSH)).body,
    );
    expect(revokePush).toMatchObject({
      conversationId,
      serverMsgId: acks[0]!.serverMsgId,
      revokedBy: alice.userId,
    });

    expect([a.corruption, b.corruption]).toEqual([null, null]);
    a.close();
    b.close();
  });

  it("carries a group conversation created over HTTP", async () => {
    const owner = await account("gowner");
    const members = [await account("gm1"), await account("gm2")];
    const group = await post<{ groupID: string }>(
      "/api/group/create",
      { groupName: "TCP", faceURL: "", introduction: "", memberUserIDs: members.map((m) => m.userId) },
      owner.token,
    );
    expect(group.code).toBe(0);
    const conversationId = `group_${group.data.groupID}`;
    const o = await SdkTcpClient.connect(server.tcpPort, owner.userId, owner.token);
    const clients = await Promise.all(
      members.map((m) => SdkTcpClient.connect(server.tcpPort, m.userId, m.token)),
    );
    const ack = await sendText(o, conversationId, owner.userId, "", "hi group");
    expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    for (const client of clients) {
      let last;
      do [last] = await client.pushed(1);
      while (last!.seq !== ack.seq);
      expect(last).toMatchObject({ conversationId, senderId: owner.userId, conversationType: 2 });
      expect(text(last!.content)).toBe("hi group");
    }
    for (const client of [o, ...clients]) client.close();
  });

  it("answers an expired token with AUTH_RSP ERR_TOKEN_EXPIRED and closes the connection", async () => {
    const user = await account("expired");
    // Signed like a login token (src/auth/jwt.ts claims) with the dev secret scripts/dev.mjs wrote.
    const secret = /^JWT_SECRET=(.+)$/m.exec(
      readFileSync(join(import.meta.dirname, "../../.dev.vars"), "utf8"),
    )![1]!;
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ user_id: user.userId, platform: "iOS" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user.userId)
      .setIssuedAt(now - 7_200)
      .setExpirationTime(now - 3_600)
      .sign(new TextEncoder().encode(secret.trim()));
    const client = await SdkTcpClient.open(server.tcpPort);
    const auth = await client.auth(user.userId, expired);
    expect(auth.errorCode).toBe(Err.ERR_TOKEN_EXPIRED);
    await client.closed;
  });

  it("answers AUTH with another user's id with ERR_AUTH_FAILED and closes when the worker closes", async () => {
    const user = await account("mismatch");
    const client = await SdkTcpClient.open(server.tcpPort);
    const auth = await client.auth("someone-else", user.token);
    expect(auth.errorCode).toBe(Err.ERR_AUTH_FAILED);
    await client.closed;
    expect(client.corruption).toBeNull();
  });

  it("kicks the older connection of the same user and platform with KICK_OUT reason 1, then closes it", async () => {
    const user = await account("kick");
    const first = await SdkTcpClient.connect(server.tcpPort, user.userId, user.token, "iOS");
    const second = await SdkTcpClient.connect(server.tcpPort, user.userId, user.token, "iOS");
    const kick = pb.KickOutNotification.decode(
      (await first.next((p) => p.command === Cmd.CMD_KICK_OUT)).body,
    );
    expect(kick.reason).toBe(1);
    await first.closed;
    expect(first.corruption).toBeNull();
    expect((await second.heartbeat()).command).toBe(Cmd.CMD_HEARTBEAT_RSP);
    second.close();
  });
});

describe("TCP gateway: a broken client is closed, the others are served", () => {
  /** Sends raw bytes on a fresh connection and resolves when the gateway closes it. */
  async function closedAfter(bytes: Buffer) {
    const user = await account("bad");
    const client = await SdkTcpClient.connect(server.tcpPort, user.userId, user.token);
    client.writeRaw(bytes);
    await client.closed;
  }

  it("closes a connection whose header CRC is wrong", async () => {
    const packet = sdkPacket(Cmd.CMD_HEARTBEAT_REQ, 1, new Uint8Array());
    packet.writeUInt16BE(packet.readUInt16BE(14) ^ 0x0101, 14);
    await closedAfter(packet);
    await stillServes();
  });

  it("closes a connection whose magic is wrong", async () => {
    const packet = sdkPacket(Cmd.CMD_HEARTBEAT_REQ, 1, new Uint8Array());
    packet.writeUInt16BE(0x1234, 0);
    packet.writeUInt16BE(sdkCrc16(packet.subarray(0, 14)), 14);
    await closedAfter(packet);
    await stillServes();
  });

  it("closes a connection announcing a body over 1 MiB", async () => {
    const header = sdkPacket(Cmd.CMD_SEND_MSG_REQ, 1, new Uint8Array()).subarray(0, 16);
    header.writeUInt32BE(1024 * 1024 + 1, 10);
    header.writeUInt16BE(sdkCrc16(header.subarray(0, 14)), 14);
    await closedAfter(Buffer.from(header));
    await stillServes();
  });

  it("closes a reader that stops reading while messages are pushed to it", async () => {
    const sender = await account("flood");
    const reader = await account("slow");
    await befriend(sender, reader);
    const conversationId = singleConversationId(sender.userId, reader.userId);
    const s = await SdkTcpClient.connect(server.tcpPort, sender.userId, sender.token);
    const r = await SdkTcpClient.connect(server.tcpPort, reader.userId, reader.token);
    r.pauseReading();
    // 12 MB in 60 KB messages: more than loopback's socket buffers and the gateway's bound can hold.
    const total = 200;
    const content = "x".repeat(60_000);
    for (let i = 0; i < total; i++) {
      const ack = await sendText(s, conversationId, sender.userId, reader.userId, content);
      expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    }
    // The paused client cannot see the close itself; the worker sees the reader's socket go.
    const online = async () => {
      const status = await s.request(
        Cmd.CMD_ONLINE_STATUS_REQ,
        pb.OnlineStatusRequest,
        { userIds: [reader.userId] },
        pb.OnlineStatusResponse,
      );
      return status.statuses[0]?.online ?? false;
    };
    for (let i = 0; i < 300 && (await online()); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await online()).toBe(false);
    // Reading again, the client gets what was already in flight, then the end of the stream.
    r.resumeReading();
    await r.closed;
    expect(r.pushCount()).toBeLessThan(total);
    expect((await s.heartbeat()).command).toBe(Cmd.CMD_HEARTBEAT_RSP);
    s.close();
    await stillServes();
  });

  it("keeps serving others while a connection sits without authenticating", async () => {
    const idle = connect({ port: server.tcpPort, host: "127.0.0.1" });
    await new Promise((resolve) => idle.once("connect", resolve));
    await stillServes();
    idle.destroy();
  });
});

/** A self-signed certificate for localhost from openssl, in a temporary directory; null without openssl. */
function selfSignedCertificate(): { cert: Buffer; key: Buffer } | null {
  const dir = mkdtempSync(join(tmpdir(), "gw-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("TCP gateway started in-process against the same worker", () => {
  const certificate = selfSignedCertificate();

  it.skipIf(certificate === null)(
    "speaks TLS to tcps:// clients when given a certificate and key",
    async () => {
      const gateway = await startGateway({
        upstream: `${server.wsOrigin}/ws`,
        port: 0,
        host: "127.0.0.1",
        tls: certificate!,
        log: silentLogger,
      });
      try {
        const user = await account("tls");
        const client = await SdkTcpClient.open(gateway.port, "127.0.0.1", {
          ca: certificate!.cert,
          servername: "localhost",
        });
        expect((await client.auth(user.userId, user.token)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
        expect((await client.heartbeat()).command).toBe(Cmd.CMD_HEARTBEAT_RSP);
        client.close();
      } finally {
        await gateway.close();
      }
    },
  );

  it("closes every connection, and their upstream sockets, on shutdown", async () => {
    const gateway = await startGateway({
      upstream: `${server.wsOrigin}/ws`,
      port: 0,
      host: "127.0.0.1",
      log: silentLogger,
    });
    const user = await account("shutdown");
    const watcher = await account("watcher");
    await befriend(user, watcher);
    const client = await SdkTcpClient.connect(gateway.port, user.userId, user.token);
    const w = await SdkTcpClient.connect(server.tcpPort, watcher.userId, watcher.token);
    const online = async () =>
      (
        await w.request(
          Cmd.CMD_ONLINE_STATUS_REQ,
          pb.OnlineStatusRequest,
          { userIds: [user.userId] },
          pb.OnlineStatusResponse,
        )
      ).statuses[0]?.online ?? false;
    expect(await online()).toBe(true);
    await gateway.close();
    await client.closed;
    expect(gateway.connections).toBe(0);
    for (let i = 0; i < 100 && (await online()); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await online()).toBe(false);
    w.close();
  });
});
