// What a command handler gets: the object's services, the socket and its state, and the frame.
import type { Settings } from "../../auth/config";
import { Cmd, encodeFrame, Err, errorNotice, pb, type Encoder, type Frame } from "../../protocol/codec";
import type { Presence } from "../rpc";
import type { DeliveredMarks } from "./delivered-marks";
import type { DeliveryOrder } from "./delivery-order";
import { DeviceCursors } from "./device-cursors";
import type { Inbox } from "./inbox";
import type { PresenceTracker } from "./presence";
import type { RecentPushes } from "./recent-pushes";
import { sendFrame, type SocketState } from "./socket-state";
import type { TokenBucket } from "./token-bucket";

export interface UserServices {
  env: Env;
  ctx: DurableObjectState;
  settings: Settings;
  inbox: Inbox;
  recentPushes: RecentPushes;
  deviceCursors: DeviceCursors;
  sendLimiter: TokenBucket;
  typingLimiter: TokenBucket;
  presence: PresenceTracker;
  deliveredMarks: DeliveredMarks;
  deliveryOrder: DeliveryOrder;
  /** A socket authenticated: its authentication deadline no longer needs the alarm. */
  authenticated(): Promise<void>;
  /** The user's presence as their friends should see it now. */
  currentStatus(): Presence;
  /** Sends a frame to every authenticated socket of the user, except the one named. */
  broadcast(frame: Uint8Array, exceptSession?: string): void;
}

export interface FrameContext extends UserServices {
  ws: WebSocket;
  state: SocketState;
  frame: Frame;
}

/** Answers the frame with `command`, repeating its sequence. */
export function reply<T>(fc: FrameContext, command: Cmd, type: Encoder<T>, body: T): void {
  sendFrame(fc.ws, encodeFrame(command, fc.frame.sequence, type, body));
}

/** ErrorNotice (extension) for a frame that has no response type of its own. */
export function notice(fc: FrameContext, code: Err, message: string): void {
  sendFrame(fc.ws, errorNotice(code, message, fc.frame));
}

interface ErrorBody {
  errorCode?: Err | null;
  errorMsg?: string | null;
}

/** Each request's response command and type: all of them carry error_code = 1, error_msg = 2. */
const RESPONSES: Partial<Record<Cmd, { command: Cmd; type: Encoder<ErrorBody> }>> = {
  [Cmd.CMD_CONNECT_REQ]: { command: Cmd.CMD_CONNECT_RSP, type: pb.ConnectResponse },
  [Cmd.CMD_AUTH_REQ]: { command: Cmd.CMD_AUTH_RSP, type: pb.AuthResponse },
  [Cmd.CMD_REAUTH_REQ]: { command: Cmd.CMD_REAUTH_RSP, type: pb.AuthResponse },
  [Cmd.CMD_SEND_MSG_REQ]: { command: Cmd.CMD_SEND_MSG_RSP, type: pb.SendMessageResponse },
  [Cmd.CMD_REVOKE_MSG_REQ]: { command: Cmd.CMD_REVOKE_MSG_RSP, type: pb.RevokeMessageResponse },
  [Cmd.CMD_BATCH_SYNC_REQ]: { command: Cmd.CMD_BATCH_SYNC_RSP, type: pb.BatchSyncResponse },
  [Cmd.CMD_SYNC_RANGE_REQ]: { command: Cmd.CMD_SYNC_RANGE_RSP, type: pb.SyncRangeResponse },
  [Cmd.CMD_ONLINE_STATUS_REQ]: { command: Cmd.CMD_ONLINE_STATUS_RSP, type: pb.OnlineStatusResponse },
  [Cmd.CMD_READ_RECEIPT_REQ]: { command: Cmd.CMD_READ_RECEIPT_RSP, type: pb.ReadReceiptResponse },
};

/** The fields a client matches a response by, read from the request when it decodes. */
function correlation(frame: Frame): Record<string, string> {
  try {
    if (frame.command === Cmd.CMD_SEND_MSG_REQ) {
      return { clientMsgId: pb.SendMessageRequest.decode(frame.body).message?.clientMsgId ?? "" };
    }
    if (frame.command === Cmd.CMD_SYNC_RANGE_REQ) {
      const req = pb.SyncRangeRequest.decode(frame.body);
      return { requestId: req.requestId, conversationId: req.conversationId };
    }
  } catch {
    // An undecodable body has nothing to correlate.
  }
  return {};
}

/**
 * Refuses a request: its own response type with the error code when it has one (so the SDK's
 * pending call completes), an ErrorNotice otherwise.
 */
export function refuse(fc: FrameContext, code: Err, message: string): void {
  const response = RESPONSES[fc.frame.command as Cmd];
  if (!response) return notice(fc, code, message);
  reply(fc, response.command, response.type, {
    errorCode: code,
    errorMsg: message,
    ...correlation(fc.frame),
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
export function decodeBody<T>(fc: FrameContext, type: { decode(bytes: Uint8Array): T }): T {
  try {
    return type.decode(fc.frame.body);
  } catch {
    throw new RequestError(Err.ERR_INVALID_PARAM, `malformed body for command ${fc.frame.command}`);
  }
}

/** The device key of the frame's socket (device-cursors.ts). */
export function deviceOf(fc: FrameContext): string {
  return DeviceCursors.device(fc.state.loginSessionId, fc.state.platform);
}
