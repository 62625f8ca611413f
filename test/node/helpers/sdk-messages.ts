// A client SDK message for the store and stream unit tests, so each test names only what it varies.
import type { Message } from "edge-im/client";

/** Seq `seq` of the a↔b conversation with the text "m<seq>", with `fields` changed. */
export function sdkMessage(seq: number, fields: Partial<Message> = {}): Message {
  const text = `m${seq}`;
  return {
    serverMsgId: `id-${seq}`,
    clientMsgId: `c-${seq}`,
    conversationId: "single_a_b",
    conversationType: 1,
    senderId: "a",
    receiverId: "b",
    groupId: "",
    messageType: 1,
    content: new TextEncoder().encode(text),
    text,
    seq,
    sendTime: seq,
    serverTime: seq,
    extra: "",
    attachedInfo: "",
    isRevoked: false,
    revokedBy: "",
    revokedTime: 0,
    status: 1,
    readCount: 0,
    replyTo: null,
    mentions: [],
    mentionAll: false,
    forwardedFrom: null,
    editedTime: 0,
    editCount: 0,
    reactions: [],
    replyCount: 0,
    modSeq: 0,
    ...fields,
  };
}
