// Rich-message helpers for tests that call a ConversationObject directly (docs/RICH-MESSAGES.md):
// sends with rich fields, a one-to-one or a group with its object, and a socket that declared the
// rich_messages feature.
import { env, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { RichSend } from "../../../src/objects/message";
import { decodeRich, type RichFields } from "../../../src/objects/rich-fields";
import type { SendInput, SendResult } from "../../../src/objects/rpc";
import { RICH_MESSAGES } from "../../../src/objects/user/rich-updates";
import { saveSocketState, socketState } from "../../../src/objects/user/socket-state";
import { singleConversationId } from "../../../src/protocol/conversation-id";
import { createGroup } from "./groups";
import { newUser, type TestUser } from "./http";
import { TestSocket } from "./socket";

export const utf8 = (s: string) => new TextEncoder().encode(s);

/** A text message as a sender's object hands it to the conversation. */
export function textSend(senderId: string, receiverId: string, body: string, rich?: RichSend): SendInput {
  return {
    senderId,
    receiverId,
    clientMsgId: crypto.randomUUID(),
    messageType: 1,
    content: utf8(body),
    sendTime: Date.now(),
    extra: "",
    attachedInfo: "",
    originSession: "",
    ...(rich ? { rich } : {}),
  };
}

export type ConversationStub = DurableObjectStub<
  import("../../../src/objects/conversation/conversation-object").ConversationObject
>;

/** Two users and their one-to-one conversation's object. */
export async function pairConversation() {
  const [a, b] = [await newUser("a"), await newUser("b")];
  const conversationId = singleConversationId(a.userId, b.userId);
  return { a, b, conversationId, stub: env.CONVERSATION_OBJECT.getByName(conversationId) };
}

/** A group of an owner, an admin and two plain members, and its object. */
export async function groupConversation() {
  const [owner, admin, member, other] = [
    await newUser("owner"),
    await newUser("admin"),
    await newUser("member"),
    await newUser("other"),
  ];
  const group = await createGroup(owner, [admin, member, other]);
  const conversationId = `group_${group.groupID}`;
  const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
  expect(
    await stub.groupCommand({ op: "setAdmin", actor: owner.userId, userId: admin.userId, admin: true }),
  ).toMatchObject({
    ok: true,
  });
  return { owner, admin, member, other, conversationId, stub };
}

/** Sends one message and answers its accepted result (the test fails on a refusal). */
export async function sendOk(stub: ConversationStub, input: SendInput) {
  const [result] = (await stub.send([input])).results;
  if (!result?.ok) throw new Error(`send refused: ${JSON.stringify(result)}`);
  return result;
}

/** Sends one message and answers its result, whatever it is. */
export async function sendOne(stub: ConversationStub, input: SendInput): Promise<SendResult> {
  const [result] = (await stub.send([input])).results;
  if (!result) throw new Error("no result");
  return result;
}

/** A member's view of the message at `seq`, with its rich fields decoded. */
export async function messageAt(stub: ConversationStub, userId: string, seq: number) {
  const read = await stub.read({
    userId,
    fromSeq: seq,
    toSeq: seq,
    limit: 1,
    newest: false,
    maxBytes: 1 << 20,
  });
  if (!read.ok) throw new Error(read.message);
  const [message] = read.messages;
  if (!message) throw new Error(`no message at ${seq}`);
  return {
    message,
    rich: decodeRich(message.ext) as RichFields,
    modSeq: read.modSeq ?? 0,
    maxSeq: read.maxSeq,
  };
}

/**
 * A socket that declared rich_messages, as an AUTH with `features` leaves it: the declaration is the
 * socket's attachment (user/socket-state.ts), set here in the user's object itself.
 */
export async function richSocket(user: TestUser): Promise<TestSocket> {
  const socket = await TestSocket.connect(user);
  await runInDurableObject(env.USER_OBJECT.getByName(user.userId), (_instance, state) => {
    for (const ws of state.getWebSockets()) {
      const current = socketState(ws);
      if (current.authed) saveSocketState(ws, { ...current, features: [RICH_MESSAGES] });
    }
  });
  return socket;
}
