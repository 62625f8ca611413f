// Declaring rich_messages (docs/RICH-MESSAGES.md, "Declaring the feature"): AUTH keeps the known
// features on the socket (its attachment, so they survive hibernation), a REAUTH replaces them, and
// a socket that did not declare the feature is refused every rich request and rich send field.
import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Cmd, Err, pb, type Encoder } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { toMessageInfo, type StoredMessage } from "../../src/objects/message";
import { DECLARE_RICH } from "../../src/objects/user/rich-request";
import { messageInfoFor, withExt } from "../../src/objects/user/rich-updates";
import { notForSdk } from "../support/sdk-fields";
import { newUser } from "./helpers/http";
import { connectRich, noticeOf, react, sendRich } from "./helpers/rich-wire";
import { TestSocket } from "./helpers/socket";

const ANY_ID = "01HZZZZZZZZZZZZZZZZZZZZZZZ";

/** Each rich request with a well-formed body. */
function richRequests(conversationId: string): [Cmd, Encoder<object>, object][] {
  const serverMsgId = ANY_ID;
  return [
    [Cmd.CMD_REACT_REQ, pb.ReactRequest, { conversationId, serverMsgId, emoji: "👍" }],
    [
      Cmd.CMD_EDIT_MSG_REQ,
      pb.EditMessageRequest,
      { conversationId, serverMsgId, content: new Uint8Array([104]) },
    ],
    [Cmd.CMD_PIN_REQ, pb.PinRequest, { conversationId, serverMsgId }],
    [Cmd.CMD_THREAD_REQ, pb.ThreadRequest, { conversationId, rootServerMsgId: serverMsgId }],
    [Cmd.CMD_CHANGES_REQ, pb.ChangesRequest, { conversationId, afterModSeq: 0 }],
    [Cmd.CMD_EDIT_HISTORY_REQ, pb.EditHistoryRequest, { conversationId, serverMsgId }],
  ] as [Cmd, Encoder<object>, object][];
}

describe("the rich_messages feature in AUTH", () => {
  it("answers the known features declared, ignores unknown ones, and none for a socket that declares none", async () => {
    const a = await newUser("a");
    const plain = await TestSocket.open(a.token, "&platform=iOS");
    const plainAuth = await plain.auth(a.userId, a.token, "iOS");
    expect(plainAuth.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(plainAuth.features).toEqual([]);

    const rich = await TestSocket.open(a.token, "&platform=web");
    const richAuth = await rich.request(
      Cmd.CMD_AUTH_REQ,
      pb.AuthRequest,
      {
        userId: a.userId,
        token: a.token,
        platform: "web",
        features: ["teleport", "rich_messages", "rich_messages"],
      },
      Cmd.CMD_AUTH_RSP,
      pb.AuthResponse,
    );
    expect(richAuth.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(richAuth.features).toEqual(["rich_messages"]);
    plain.close();
    rich.close();
  });

  it("refuses every rich request on a socket that did not declare it, with an ErrorNotice", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const plain = await TestSocket.connect(a, "iOS");
    const conversationId = singleConversationId(a.userId, b.userId);
    await plain.sendText(a.userId, b.userId, "hi");
    for (const [command, type, body] of richRequests(conversationId)) {
      const sequence = plain.send(command, type, body);
      const frame = await plain.next((f) => f.command === Cmd.CMD_UNKNOWN);
      expect(noticeOf(frame), Cmd[command]).toMatchObject({
        errorCode: Err.ERR_INVALID_PARAM,
        errorMsg: DECLARE_RICH,
        refSequence: sequence,
        refCommand: command,
      });
    }
    // Nothing numbered 1100 or more came back.
    expect(plain.drainAll().filter((f) => f.command >= 1000)).toEqual([]);
    plain.close();
  });

  it("refuses a send that sets a field numbered 100 or more on a socket that did not declare it", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const plain = await TestSocket.connect(a, "iOS");
    const peer = await TestSocket.connect(b, "iOS");
    const conversationId = singleConversationId(a.userId, b.userId);
    const first = await plain.sendText(a.userId, b.userId, "hi");
    const asks = [
      { replyTo: { serverMsgId: first.serverMsgId } },
      { mentionUserIds: [b.userId] },
      { mentionAll: true },
      { forwardOf: { conversationId, serverMsgId: first.serverMsgId } },
      { reactions: [{ emoji: "👍", count: 1 }] },
      { editCount: 3 },
    ];
    for (const ask of asks) {
      const answer = await sendRich(plain, conversationId, a.userId, "rich?", ask);
      expect(answer, JSON.stringify(Object.keys(ask))).toMatchObject({
        errorCode: Err.ERR_INVALID_PARAM,
        errorMsg: DECLARE_RICH,
      });
    }
    // Nothing was stored: the next plain message is seq 2, and the peer saw only the two.
    const next = await plain.sendText(a.userId, b.userId, "plain again");
    expect(next.seq).toBe(2);
    expect((await peer.pushedMessages(2)).map((m) => m.seq)).toEqual([1, 2]);
    plain.close();
    peer.close();
  });

  it("keeps the declaration across hibernation, and a REAUTH without it takes it away", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationId = singleConversationId(a.userId, b.userId);
    const rich = await connectRich(a);
    await evictDurableObject(env.USER_OBJECT.getByName(a.userId));
    // A malformed id is refused by the rich handler itself (its own answer), not by the feature check.
    const answer = await react(rich, conversationId, "not an id", "👍");
    expect(answer).toMatchObject({ errorCode: Err.ERR_INVALID_PARAM, errorMsg: "malformed server_msg_id" });

    const reauth = await rich.request(
      Cmd.CMD_REAUTH_REQ,
      pb.AuthRequest,
      { userId: a.userId, token: a.token, platform: "web" },
      Cmd.CMD_REAUTH_RSP,
      pb.AuthResponse,
    );
    expect(reauth.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(reauth.features).toEqual([]);
    await expect(react(rich, conversationId, ANY_ID, "👍")).rejects.toThrow(DECLARE_RICH);
    rich.close();
  });
});

describe("a message's rich fields in a sync answer", () => {
  const message: StoredMessage = {
    seq: 7,
    serverMsgId: ANY_ID,
    clientMsgId: "c7",
    conversationId: "group_g1",
    conversationType: 2,
    senderId: "01HAAAAAAAAAAAAAAAAAAAAAAA",
    receiverId: "",
    groupId: "g1",
    messageType: 1,
    content: new TextEncoder().encode("hi"),
    sendTime: 1,
    serverTime: 2,
    extra: "",
    attachedInfo: "",
    originSession: "s",
    isRevoked: false,
    revokedBy: "",
    revokedTime: 0,
    readBy: ["01HBBBBBBBBBBBBBBBBBBBBBBB"],
    readCount: 1,
    ext: pb.MessageInfo.encode({
      replyTo: { serverMsgId: ANY_ID, seq: 3, snippet: "quoted" },
      mentionUserIds: ["01HCCCCCCCCCCCCCCCCCCCCCCC"],
      editCount: 2,
      reactions: [{ emoji: "👍", count: 2, userIds: ["x", "y"] }],
      modSeq: 9,
    }).finish(),
  };

  it("is what info ++ ext decodes to for a rich socket, and the SDK's fields alone for any other", () => {
    const info = pb.MessageInfo.encode(toMessageInfo(message)).finish();
    const concatenated = pb.MessageInfo.decode(withExt(info, message.ext));
    const rich = pb.MessageInfo.decode(pb.MessageInfo.encode(messageInfoFor(message, true)).finish());
    expect(rich).toEqual(concatenated);
    expect(rich.readBy).toEqual(message.readBy);
    expect(rich.reactions).toHaveLength(1);
    // The SDK's socket: its own fields only, read_count (24) left out as well as the rich ones.
    const sdk = pb.MessageInfo.encode(messageInfoFor(message, false)).finish();
    expect(sdk).toEqual(pb.MessageInfo.encode({ ...toMessageInfo(message), readCount: 0 }).finish());
    expect(
      notForSdk(
        Cmd.CMD_SYNC_RANGE_RSP,
        pb.SyncRangeResponse.encode({ messages: [pb.MessageInfo.decode(sdk)] }).finish(),
      ),
    ).toBeNull();
    expect(pb.MessageInfo.encode(messageInfoFor({ ...message, ext: undefined }, true)).finish()).toEqual(
      info,
    );
  });
});
