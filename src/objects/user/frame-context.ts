// What a command handler gets: the frame, its socket and the socket's state, and those of the
// object's services it names (FrameContext<"inbox" | "settings">), so a handler's signature says
// what it touches.
import type { Settings } from "../../config/settings";
import { Cmd, encodeFrame, Err, errorNotice, type Encoder, type Frame } from "../../protocol/codec";
import { parseConversationId, type ParsedConversation } from "../../protocol/conversation-id";
import { correlationOf, REFUSAL_RESPONSES } from "../../protocol/refusals";
import type { Presence } from "../rpc";
import type { DeliveredMarks } from "./delivered-marks";
import type { DeliveryOrder } from "./delivery-order";
import { DeviceCursors } from "./device-cursors";
import type { Inbox } from "./inbox";
import type { PresenceTracker } from "./presence";
import type { RecentPushes } from "./recent-pushes";
import type { SocketReport } from "./socket-report";
import { sendFrame, type SocketState } from "./socket-state";
import type { TokenBucket } from "./token-bucket";
import type { ObjectIds } from "../object-ids";
import { logEvent, type LogFields } from "../../observability/log";
import { countMetric, Metric } from "../../observability/metrics";

export type ConversationStub = ReturnType<Env["CONVERSATION_OBJECT"]["getByName"]>;

export interface UserServices {
  env: Env;
  ctx: DurableObjectState;
  settings: Settings;
  inbox: Inbox;
  recentPushes: RecentPushes;
  deviceCursors: DeviceCursors;
  sendLimiter: TokenBucket;
  typingLimiter: TokenBucket;
  /** The user's reactions, edits and pins (rich-request.ts changeRequest). */
  changeLimiter: TokenBucket;
  presence: PresenceTracker;
  deliveredMarks: DeliveredMarks;
  deliveryOrder: DeliveryOrder;
  /** Ids of the conversations the user sends to (own-sends.ts): the same few, again and again. */
  conversations: Pick<ObjectIds<string, ConversationStub>, "call">;
  /** A socket of `userId` authenticated: its deadline no longer needs the alarm; the gauge hears of it. */
  authenticated(userId: string): Promise<void>;
  /** The user's socket count for the admin API's stats (socket-report.ts). */
  socketReport: SocketReport;
  /** The user's presence as their friends should see it now. */
  currentStatus(): Presence;
  /** Sends a frame to every authenticated socket of the user, except the one named. */
  broadcast(frame: Uint8Array, exceptSession?: string): void;
}

/** The frame being handled and its socket. */
export interface FrameScope {
  ws: WebSocket;
  state: SocketState;
  frame: Frame;
}

/** A frame with the services named by `K` (all of them by default). */
export type FrameContext<K extends keyof UserServices = keyof UserServices> = FrameScope &
  Pick<UserServices, K>;

/** What a log line says of a frame: its request id (socket session and sequence), user and command. */
export function frameLogFields(fc: FrameScope): LogFields {
  return {
    requestId: `${fc.state.sessionId}:${fc.frame.sequence}`,
    userId: fc.state.userId,
    sessionId: fc.state.sessionId,
    command: fc.frame.command,
  };
}

/** Answers the frame with `command`, repeating its sequence. */
export function reply<T>(fc: FrameScope, command: Cmd, type: Encoder<T>, body: T): void {
  sendFrame(fc.ws, encodeFrame(command, fc.frame.sequence, type, body));
}

/** ErrorNotice (extension) for a frame that has no response type of its own. */
export function notice(fc: FrameScope, code: Err, message: string): void {
  sendFrame(fc.ws, errorNotice(code, message, fc.frame));
}

/**
 * Refuses a request: its own response type with the error code when it has one (so the SDK's
 * pending call completes), an ErrorNotice otherwise.
 */
export function refuse(fc: FrameScope, code: Err, message: string): void {
  logEvent("info", "request_refused", { ...frameLogFields(fc), code, reason: message });
  countMetric(Metric.refusals, 1, String(code));
  const response = REFUSAL_RESPONSES[fc.frame.command];
  if (!response) return notice(fc, code, message);
  reply(fc, response.command, response.type, {
    errorCode: code,
    errorMsg: message,
    ...correlationOf(fc.frame.command, fc.frame.body),
  });
}

/** A request the handler refuses with a code; the dispatcher answers it with `refuse`. */
export class RequestError extends Error {
  constructor(
    readonly code: Err,
    message: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/** Decodes the frame's body as `type`; a malformed body is the client's error, not ours. */
export function decodeBody<T>(fc: FrameScope, type: { decode(bytes: Uint8Array): T }): T {
  try {
    return type.decode(fc.frame.body);
  } catch {
    throw new RequestError(Err.ERR_INVALID_PARAM, `malformed body for command ${fc.frame.command}`);
  }
}

/** A request's conversation id, parsed; a malformed one refuses the request. */
export function requestedConversation(conversationId: string | null | undefined): ParsedConversation {
  const conversation = parseConversationId(conversationId ?? "");
  if (!conversation) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed conversation_id");
  return conversation;
}

/** The device key of the frame's socket (device-cursors.ts). */
export function deviceOf(fc: FrameScope): string {
  return DeviceCursors.device(fc.state.loginSessionId, fc.state.platform);
}
