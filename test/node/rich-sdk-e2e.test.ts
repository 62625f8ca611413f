// Rich messages end to end (docs/RICH-MESSAGES.md): against the real `npm run dev` (wrangler dev and
// the TCP gateway), rich clients over WebSocket reply, mention, react, edit, pin and forward in a
// group while an SDK-shaped client reads it through the TCP gateway: every packet it gets has a
// command the SDK knows and no MessageInfo field numbered 100 or more, live and through sync. A TCP
// client that declares rich_messages is not served it (the gateway's second fence).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cmd, Err, pb, type MessageInfo } from "../../src/protocol/codec.ts";
import { ProtocolClient } from "../support/protocol-client.ts";
import { notForSdk } from "../support/sdk-fields.ts";
import { feedFrom, openWebSocket, wsSocket } from "../support/ws-socket.ts";
import { startDevServer, type DevServer } from "./helpers/dev-server";
import { newAccount, postJson } from "./helpers/http-accounts";
import { SdkTcpClient, type Packet } from "./helpers/sdk-tcp-client";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer({ vars: { BCRYPT_COST: "4" } });
});
afterAll(async () => {
  await server?.stop();
});

type Account = Awaited<ReturnType<typeof newAccount>>;
const account = (name: string) => newAccount(server.origin, name);
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const ok = (r: { errorCode?: number | null }) => r.errorCode ?? Err.ERR_SUCCESS;

/** A client over WebSocket that declared rich_messages in AUTH. */
async function richClient(user: Account): Promise<ProtocolClient> {
  const ws = await openWebSocket(
    `${server.wsOrigin}/ws?token=${encodeURIComponent(user.token)}&platform=web`,
  );
  const client = new ProtocolClient(wsSocket(ws), { timeoutMs: 10_000, queue: true });
  feedFrom(ws, client);
  const auth = await client.request(
    Cmd.CMD_AUTH_REQ,
    pb.AuthRequest,
    { userId: user.userId, token: user.token, platform: "web", features: ["rich_messages"] },
    Cmd.CMD_AUTH_RSP,
    pb.AuthResponse,
  );
  expect(ok(auth)).toBe(0);
  expect(auth.features).toEqual(["rich_messages"]);
  return client;
}

function send(client: ProtocolClient, sender: string, conversationId: string, message: MessageInfo) {
  return client.sendMessage({
    clientMsgId: crypto.randomUUID(),
    conversationId,
    senderId: sender,
    messageType: 1,
    sendTime: Date.now(),
    ...message,
  });
}

function rich<Req, Res>(
  client: ProtocolClient,
  command: Cmd,
  type: { encode(m: Req): { finish(): Uint8Array } },
  body: Req,
  response: Cmd,
  decoder: { decode(b: Uint8Array): Res },
) {
  return client.request(command, type, body, response, decoder);
}

const pushedIds = (packets: Packet[]) =>
  packets.flatMap((p) =>
    p.command === Cmd.CMD_PUSH_MSG
      ? [pb.PushMessage.decode(p.body).message?.serverMsgId]
      : p.command === Cmd.CMD_BATCH_MSG
        ? pb.BatchMessages.decode(p.body).messages.map((m) => m.message?.serverMsgId)
        : [],
  );

describe("an SDK-shaped client through the TCP gateway in a busy rich conversation", () => {
  it("gets only packets the SDK can take, live and through sync, while others reply, mention, react, edit, pin and forward", async () => {
    const [owner, member, sdkUser] = [await account("ro"), await account("rm"), await account("rs")];
    const created = await postJson<{ groupID: string }>(
      server.origin,
      "/api/group/create",
      { groupName: "Rich", faceURL: "", introduction: "", memberUserIDs: [member.userId, sdkUser.userId] },
      owner.token,
    );
    expect(created.body.code).toBe(0);
    const groupId = `group_${created.body.data.groupID}`;

    const ownerWeb = await richClient(owner);
    const memberWeb = await richClient(member);
    const sdk = await SdkTcpClient.connect(server.tcpPort, sdkUser.userId, sdkUser.token);
    // The same user's second TCP device declares the feature: the gateway does not pass it on.
    const declaring = await SdkTcpClient.open(server.tcpPort);
    const declaredAuth = await declaring.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      { userId: sdkUser.userId, token: sdkUser.token, platform: "Android", features: ["rich_messages"] },
      pb.AuthResponse,
    );
    expect(ok(declaredAuth)).toBe(0);
    expect(declaredAuth.features).toEqual([]);

    const root = await send(ownerWeb, owner.userId, groupId, { content: new TextEncoder().encode("root") });
    expect(ok(root)).toBe(0);
    const reply = await send(memberWeb, member.userId, groupId, {
      content: new TextEncoder().encode("a reply"),
      replyTo: { serverMsgId: root.serverMsgId },
      mentionUserIds: [sdkUser.userId],
    });
    expect(ok(reply)).toBe(0);
    expect(
      ok(
        await send(ownerWeb, owner.userId, groupId, {
          content: new TextEncoder().encode("@all"),
          mentionAll: true,
        }),
      ),
    ).toBe(0);
    const reactTo = (client: ProtocolClient, serverMsgId: string, emoji: string) =>
      rich(
        client,
        Cmd.CMD_REACT_REQ,
        pb.ReactRequest,
        { conversationId: groupId, serverMsgId, emoji },
        Cmd.CMD_REACT_RSP,
        pb.ReactResponse,
      );
    expect(ok(await reactTo(ownerWeb, reply.serverMsgId!, "👍"))).toBe(0);
    expect(ok(await reactTo(memberWeb, root.serverMsgId!, "🎉"))).toBe(0);
    const edited = await rich(
      memberWeb,
      Cmd.CMD_EDIT_MSG_REQ,
      pb.EditMessageRequest,
      {
        conversationId: groupId,
        serverMsgId: reply.serverMsgId,
        content: new TextEncoder().encode("a reply, edited"),
      },
      Cmd.CMD_EDIT_MSG_RSP,
      pb.EditMessageResponse,
    );
    expect(ok(edited)).toBe(0);
    const pinned = await rich(
      ownerWeb,
      Cmd.CMD_PIN_REQ,
      pb.PinRequest,
      { conversationId: groupId, serverMsgId: root.serverMsgId },
      Cmd.CMD_PIN_RSP,
      pb.PinResponse,
    );
    expect(ok(pinned)).toBe(0);
    const forward = await send(ownerWeb, owner.userId, groupId, {
      forwardOf: { conversationId: groupId, serverMsgId: reply.serverMsgId },
    });
    expect(ok(forward)).toBe(0);
    const end = await send(ownerWeb, owner.userId, groupId, { content: new TextEncoder().encode("the end") });

    for (const device of [sdk, declaring]) {
      await device.next((p) => pushedIds([p]).includes(end.serverMsgId!));
      // A rich request from a TCP client is refused as from any socket that did not declare it.
      device.post(Cmd.CMD_REACT_REQ, pb.ReactRequest, {
        conversationId: groupId,
        serverMsgId: root.serverMsgId,
        emoji: "👍",
      });
      const notice = pb.ErrorNotice.decode((await device.next((p) => p.command === Cmd.CMD_UNKNOWN)).body);
      expect(notice.errorCode).toBe(Err.ERR_INVALID_PARAM);
      const synced = await device.request(
        Cmd.CMD_BATCH_SYNC_REQ,
        pb.BatchSyncRequest,
        { conversationStates: [] },
        pb.BatchSyncResponse,
      );
      const messages = synced.conversationMessages.find((c) => c.conversationId === groupId)?.messages ?? [];
      expect(messages.map((m) => text(m.content))).toContain("a reply, edited");
      const range = await device.request(
        Cmd.CMD_SYNC_RANGE_REQ,
        pb.SyncRangeRequest,
        { requestId: "r1", conversationId: groupId, startSeq: 1, endSeq: 0 },
        pb.SyncRangeResponse,
      );
      expect(range.messages.length).toBeGreaterThanOrEqual(6);

      expect(device.corruption).toBeNull();
      expect(device.received.length).toBeGreaterThan(5);
      expect(device.received.map((p) => notForSdk(p.command, p.body)).filter(Boolean)).toEqual([]);
      device.close();
    }
    ownerWeb.close();
    memberWeb.close();
  });
});
