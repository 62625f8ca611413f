import { describe, expect, it } from "vitest";
import { toDelivered, toMessageInfo, type StoredMessage } from "../../src/objects/message";
import { Cmd, decodeFrame, pb } from "../../src/protocol/codec";
import { batchMessagesBody, pushFrame, pushMessageBody } from "../../src/protocol/push-frames";

function message(seq: number, text: string): StoredMessage {
  return {
    seq,
    serverMsgId: `01JSERVER${seq}`,
    clientMsgId: `client-${seq}`,
    conversationId: "single_a_b",
    conversationType: 1,
    senderId: "a",
    receiverId: "b",
    groupId: "",
    messageType: 1,
    content: new TextEncoder().encode(text),
    sendTime: 1_700_000_000_000 + seq,
    serverTime: 1_700_000_000_500 + seq,
    extra: seq % 2 ? '{"k":1}' : "",
    attachedInfo: "",
    originSession: "s",
    isRevoked: false,
    revokedBy: "",
    revokedTime: 0,
  };
}

describe("push frames from messages encoded once", () => {
  const messages = [message(1, "hi"), message(2, "é".repeat(300)), message(3, "x".repeat(70_000))];
  const infos = messages.map((m) => toDelivered(m).info);

  it("writes the same bytes as the generated encoders", () => {
    expect(pushMessageBody(infos[0]!)).toEqual(
      pb.PushMessage.encode({ message: toMessageInfo(messages[0]!) }).finish(),
    );
    expect(batchMessagesBody(infos)).toEqual(
      pb.BatchMessages.encode({ messages: messages.map((m) => ({ message: toMessageInfo(m) })) }).finish(),
    );
  });

  it("frames one message as PUSH_MSG and several as BATCH_MSG that decode to the messages", () => {
    const one = decodeFrame(pushFrame(infos.slice(0, 1))!);
    expect(one.command).toBe(Cmd.CMD_PUSH_MSG);
    expect(pb.PushMessage.decode(one.body).message?.seq).toBe(1);
    const several = decodeFrame(pushFrame(infos)!);
    expect(several.command).toBe(Cmd.CMD_BATCH_MSG);
    const decoded = pb.BatchMessages.decode(several.body).messages.map((p) => p.message);
    expect(
      decoded.map((m) => [m?.seq, new TextDecoder().decode(m?.content ?? new Uint8Array()).length]),
    ).toEqual([
      [1, 2],
      [2, 300],
      [3, 70_000],
    ]);
    expect(pushFrame([])).toBeNull();
  });
});
