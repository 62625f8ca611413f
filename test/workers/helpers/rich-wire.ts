// Rich-message helpers over /ws (docs/RICH-MESSAGES.md): a socket that declares rich_messages, and its
// requests, answers and pushes.
import { expect } from "vitest";
import { Cmd, Err, pb, type Frame, type MessageInfo } from "../../../src/protocol/codec";
import { type TestUser } from "./http";
import { TestSocket } from "./socket";

export const RICH = ["rich_messages"];

/** Opens /ws and authenticates declaring rich_messages. */
export async function connectRich(user: TestUser, platform = "web"): Promise<TestSocket> {
  const socket = await TestSocket.open(user.token, `&platform=${platform}`);
  const auth = await socket.request(
    Cmd.CMD_AUTH_REQ,
    pb.AuthRequest,
    { userId: user.userId, token: user.token, platform, features: RICH },
    Cmd.CMD_AUTH_RSP,
    pb.AuthResponse,
  );
  expect(auth.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
  expect(auth.features).toEqual(RICH);
  return socket;
}

export function react(
  s: TestSocket,
  conversationId: string,
  serverMsgId: string,
  emoji: string,
  remove = false,
) {
  return s.request(
    Cmd.CMD_REACT_REQ,
    pb.ReactRequest,
    { conversationId, serverMsgId, emoji, remove },
    Cmd.CMD_REACT_RSP,
    pb.ReactResponse,
  );
}

export function edit(s: TestSocket, conversationId: string, serverMsgId: string, content: string) {
  return s.request(
    Cmd.CMD_EDIT_MSG_REQ,
    pb.EditMessageRequest,
    { conversationId, serverMsgId, content: new TextEncoder().encode(content) },
    Cmd.CMD_EDIT_MSG_RSP,
    pb.EditMessageResponse,
  );
}

export function pin(s: TestSocket, conversationId: string, serverMsgId: string, unpin = false) {
  return s.request(
    Cmd.CMD_PIN_REQ,
    pb.PinRequest,
    { conversationId, serverMsgId, unpin },
    Cmd.CMD_PIN_RSP,
    pb.PinResponse,
  );
}

export function thread(s: TestSocket, conversationId: string, rootServerMsgId: string, afterSeq = 0) {
  return s.request(
    Cmd.CMD_THREAD_REQ,
    pb.ThreadRequest,
    { conversationId, rootServerMsgId, afterSeq },
    Cmd.CMD_THREAD_RSP,
    pb.ThreadResponse,
  );
}

export function changes(s: TestSocket, conversationId: string, afterModSeq: number) {
  return s.request(
    Cmd.CMD_CHANGES_REQ,
    pb.ChangesRequest,
    { conversationId, afterModSeq },
    Cmd.CMD_CHANGES_RSP,
    pb.ChangesResponse,
  );
}

export function editHistory(s: TestSocket, conversationId: string, serverMsgId: string, beforeVersion = 0) {
  return s.request(
    Cmd.CMD_EDIT_HISTORY_REQ,
    pb.EditHistoryRequest,
    { conversationId, serverMsgId, beforeVersion },
    Cmd.CMD_EDIT_HISTORY_RSP,
    pb.EditHistoryResponse,
  );
}

/** Sends a message with rich fields set (reply_to, mentions, forward_of) and returns SEND_MSG_RSP. */
export function sendRich(
  s: TestSocket,
  conversationId: string,
  from: string,
  text: string,
  rich: MessageInfo,
) {
  return s.sendMessage({
    clientMsgId: crypto.randomUUID(),
    conversationId,
    senderId: from,
    messageType: 1,
    content: new TextEncoder().encode(text),
    sendTime: Date.now(),
    ...rich,
  });
}

export async function nextUpdate(s: TestSocket, match: (m: MessageInfo) => boolean = () => true) {
  const frame = await s.next(
    (f) =>
      f.command === Cmd.CMD_MESSAGE_UPDATED_PUSH &&
      match(pb.MessageUpdatedPush.decode(f.body).message as MessageInfo),
  );
  return pb.MessageUpdatedPush.decode(frame.body).message as MessageInfo;
}

export async function nextPins(s: TestSocket) {
  return pb.PinsPush.decode((await s.nextCommand(Cmd.CMD_PINS_PUSH)).body);
}

/** The ErrorNotice that refused the frame with `sequence`. */
export function noticeOf(frame: Frame) {
  return pb.ErrorNotice.decode(frame.body);
}

export const ok = (r: { errorCode?: number | null }) => r.errorCode ?? Err.ERR_SUCCESS;
