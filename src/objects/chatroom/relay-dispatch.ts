// One room socket's frames, in the order they arrived: each is checked against the socket's budget,
// decoded once and handled by its command's entry (relay-commands.ts). As on /ws (user/dispatch.ts):
// a text or undecodable frame gets an ErrorNotice and too many in a row close the socket; past the
// request budget a frame gets ERR_SEND_TOO_FAST (an ack is dropped); a refusal is answered with the
// request's own response type, or an ErrorNotice.
import { Cmd, decodeFrame, Err, errorNotice, encodeFrame, pb, type Frame } from "../../protocol/codec";
import {
  CloseCode,
  HEARTBEAT_BURST,
  HEARTBEATS_PER_SECOND,
  MAX_CONSECUTIVE_BAD_FRAMES,
} from "../../protocol/limits";
import { logEvent } from "../../observability/log";
import { closeSocket, sendFrame } from "../user/socket-state";
import { TokenBucket } from "../user/token-bucket";
import { liveListener } from "./listener-state";
import { RELAY_COMMANDS } from "./relay-commands";
import { ChatroomRequestError, type RelayFrame, type RelayServices } from "./relay-frame";
import type { Incoming } from "./types";

function badFrame(ws: WebSocket, message: string): void {
  const memory = liveListener(ws);
  memory.badFrames++;
  sendFrame(ws, errorNotice(Err.ERR_INVALID_PARAM, message, null));
  if (memory.badFrames >= MAX_CONSECUTIVE_BAD_FRAMES)
    closeSocket(ws, CloseCode.policyViolation, "too many invalid frames");
}

/**
 * HISTORY_REQ's own budget, within the socket's: each answer may carry ~900 KiB read from the
 * room's storage, so a listener gets a few pages at once to fill a gap, then 2 a second.
 */
export const HISTORY_REQUESTS_PER_SECOND = 2;
export const HISTORY_REQUEST_BURST = 5;

/** Null when the frame is within its budgets, else why not. */
function overBudget(ws: WebSocket, frame: Frame, services: RelayServices): string | null {
  const memory = liveListener(ws);
  memory.requests ??= new TokenBucket(services.socketRequestsPerSecond, services.socketRequestBurst);
  memory.heartbeats ??= new TokenBucket(HEARTBEATS_PER_SECOND, HEARTBEAT_BURST);
  const tooMany = `too many requests: at most ${services.socketRequestsPerSecond} a second`;
  if (frame.command === Cmd.CMD_HEARTBEAT_REQ)
    return memory.heartbeats.take() || memory.requests.take() ? null : tooMany;
  if (frame.command === Cmd.CMD_CHATROOM_HISTORY_REQ) {
    memory.history ??= new TokenBucket(HISTORY_REQUESTS_PER_SECOND, HISTORY_REQUEST_BURST);
    if (!memory.history.take())
      return `too many history requests: at most ${HISTORY_REQUESTS_PER_SECOND} a second`;
  }
  return memory.requests.take() ? null : tooMany;
}

/** The client_msg_id a send names, when its body decodes: a client matches answers by it. */
function clientMsgIdOf(frame: Frame): string {
  try {
    return pb.ChatroomSendRequest.decode(frame.body).clientMsgId;
  } catch {
    return "";
  }
}

/**
 * Answers a refusal with the request's response type when it has one. A send's refusal repeats its
 * client_msg_id: a client's outbox matches answers by that id alone, and without it a refused send
 * would only time out instead of failing with its code.
 */
function refuse(ws: WebSocket, frame: Frame, response: Cmd | null, code: Err, message: string): void {
  if (response === Cmd.CMD_CHATROOM_SEND_RSP)
    return sendFrame(
      ws,
      encodeFrame(response, frame.sequence, pb.ChatroomSendResponse, {
        errorCode: code,
        errorMsg: message,
        clientMsgId: clientMsgIdOf(frame),
      }),
    );
  if (response === Cmd.CMD_CHATROOM_HISTORY_RSP)
    return sendFrame(
      ws,
      encodeFrame(response, frame.sequence, pb.ChatroomHistoryResponse, {
        errorCode: code,
        errorMsg: message,
      }),
    );
  sendFrame(ws, errorNotice(code, message, frame));
}

export function incoming(data: string | ArrayBuffer): Incoming {
  if (typeof data === "string") return "text";
  try {
    return decodeFrame(new Uint8Array(data));
  } catch {
    return "undecodable";
  }
}

/**
 * Whether this is an ack, handled at once rather than queued behind the socket's other frames: it
 * has no answer, its effect does not depend on their order, and every listener sends one every
 * few seconds, so it is the relay's most frequent frame.
 */
export function handleAckAtOnce(services: RelayServices, ws: WebSocket, frame: Incoming): boolean {
  if (typeof frame === "string" || frame.command !== Cmd.CMD_CHATROOM_ACK) return false;
  void handleOne(services, ws, frame);
  return true;
}

async function handleOne(services: RelayServices, ws: WebSocket, frame: Incoming): Promise<void> {
  if (frame === "text") return badFrame(ws, "text frames are not accepted: send binary protobuf frames");
  if (frame === "undecodable") return badFrame(ws, "undecodable frame: expected a WebSocketMessage");
  const memory = liveListener(ws);
  memory.badFrames = 0;
  const command = RELAY_COMMANDS.get(frame.command);
  const refusal = overBudget(ws, frame, services);
  if (refusal) {
    if (frame.command === Cmd.CMD_CHATROOM_ACK) return;
    return refuse(ws, frame, command?.response ?? null, Err.ERR_SEND_TOO_FAST, refusal);
  }
  const fc: RelayFrame = { ...services, ws, frame, listener: memory.state };
  if (!command) {
    const known = frame.command in Cmd;
    const message = known
      ? `command ${frame.command} is not a request on a chatroom socket`
      : `unknown command ${frame.command}`;
    return sendFrame(ws, errorNotice(Err.ERR_INVALID_PARAM, message, frame));
  }
  try {
    await command.handler(fc);
  } catch (error) {
    if (error instanceof ChatroomRequestError)
      return refuse(ws, frame, command.response, error.code, error.message);
    logEvent(
      "error",
      "chatroom_command_failed",
      { userId: fc.listener.userId, command: frame.command },
      error,
    );
    refuse(ws, frame, command.response, Err.ERR_UNKNOWN, "internal error");
  }
}

/** Handles a socket's frames one after another (a send's answer comes before the next frame's). */
export async function handleRelayFrames(
  services: RelayServices,
  ws: WebSocket,
  frames: readonly Incoming[],
): Promise<void> {
  for (const frame of frames) {
    if (ws.readyState !== WebSocket.OPEN) return;
    await handleOne(services, ws, frame);
  }
}
