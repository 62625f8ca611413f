// Which command numbers may go to the SDK, and what the gateway answers itself before AUTH.
import { im } from "../protocol/generated/im.js";
import { correlationOf, REFUSAL_RESPONSES } from "../protocol/refusals.ts";
import { encodeTcpFrame, type TcpFrame } from "./frame-codec.ts";

export const pb = im.protocol;
export const Cmd = im.protocol.CommandType;
export const Err = im.protocol.ErrorCode;

/**
 * The SDK's IMCommandType (IMPacket.swift). Its decoder maps any other number to `.unknown` (0)
 * before checking the CRC, so such a frame fails the check and the SDK drops the whole connection.
 * Today the set equals this server's CommandType: CMD_UNKNOWN (0, this server's ErrorNotice) and
 * the ONLINE_STATUS extension (400-402) have numbers the SDK knows, and its router logs and ignores
 * them. Any future server command outside the set is dropped by the gateway, never forwarded.
 */
const SDK_COMMANDS: ReadonlySet<number> = new Set([
  0, 1, 2, 3, 4, 5, 6, 100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 205, 206, 207, 300, 301, 302, 303,
  304, 400, 401, 402, 500, 501, 502, 600, 601,
]);

export function sdkKnows(command: number): boolean {
  return SDK_COMMANDS.has(command);
}

/**
 * An AUTH_REQ or REAUTH_REQ with no protocol extensions declared (any other frame as it is). A TCP
 * client is the SDK's: it is never served extensions (docs/RICH-MESSAGES.md), whose answers the
 * gateway would drop and whose message fields the SDK cannot take. An undecodable body is passed on
 * for the worker to refuse.
 */
export function withoutFeatures(frame: TcpFrame): TcpFrame {
  if (frame.command !== Cmd.CMD_AUTH_REQ && frame.command !== Cmd.CMD_REAUTH_REQ) return frame;
  let auth: ReturnType<typeof pb.AuthRequest.decode>;
  try {
    auth = pb.AuthRequest.decode(frame.body);
  } catch {
    return frame;
  }
  if (auth.features.length === 0) return frame;
  return { ...frame, body: pb.AuthRequest.encode({ ...auth, features: [] }).finish() };
}

const NOT_AUTHED = "authenticate first (CMD_AUTH_REQ)";

/** An AUTH_RSP (or REAUTH_RSP) frame with a code. */
export function authResponse(command: number, sequence: number, errorCode: number, errorMsg: string): Buffer {
  return encodeTcpFrame(command, sequence, pb.AuthResponse.encode({ errorCode, errorMsg }).finish());
}

export interface LocalAnswer {
  frame: Buffer | null;
  /** Close the connection once the answer is written. */
  close: boolean;
}

/**
 * The answer to a frame other than AUTH_REQ that arrives before AUTH, when there is no upstream yet
 * (PROTOCOL.md, decision 4). The SDK itself sends AUTH_REQ first and heartbeats only after AUTH_RSP
 * (IMTCPTransport.swift); CONNECT and HEARTBEAT are answered for other clients.
 */
export function answerBeforeAuth(frame: TcpFrame, sessionId: string): LocalAnswer {
  const reply = (command: number, body: Uint8Array, close = false): LocalAnswer => ({
    frame: encodeTcpFrame(command, frame.sequence, body),
    close,
  });
  try {
    switch (frame.command) {
      case Cmd.CMD_CONNECT_REQ:
        pb.ConnectRequest.decode(frame.body);
        return reply(
          Cmd.CMD_CONNECT_RSP,
          pb.ConnectResponse.encode({
            errorCode: Err.ERR_SUCCESS,
            serverTime: Date.now(),
            sessionId,
          }).finish(),
        );
      case Cmd.CMD_HEARTBEAT_REQ:
        // The SDK's heartbeat body is empty, which decodes as a HeartbeatRequest with defaults.
        pb.HeartbeatRequest.decode(frame.body);
        return reply(Cmd.CMD_HEARTBEAT_RSP, pb.HeartbeatResponse.encode({ serverTime: Date.now() }).finish());
      case Cmd.CMD_DISCONNECT_REQ:
        return reply(Cmd.CMD_DISCONNECT_RSP, new Uint8Array(), true);
    }
  } catch {
    return notice(frame, Err.ERR_INVALID_PARAM, "undecodable body");
  }
  const refusal = REFUSAL_RESPONSES[frame.command];
  if (refusal) {
    const body = {
      errorCode: Err.ERR_AUTH_FAILED,
      errorMsg: NOT_AUTHED,
      ...correlationOf(frame.command, frame.body),
    };
    return reply(refusal.command, refusal.type.encode(body).finish());
  }
  return notice(frame, Err.ERR_AUTH_FAILED, NOT_AUTHED);
}

/** An ErrorNotice (CMD_UNKNOWN, sequence 0, as the server sends it) about `frame`. */
function notice(frame: TcpFrame, code: number, message: string): LocalAnswer {
  const body = pb.ErrorNotice.encode({
    errorCode: code,
    errorMsg: message,
    refSequence: frame.sequence,
    refCommand: sdkKnows(frame.command) ? frame.command : Cmd.CMD_UNKNOWN,
  }).finish();
  return { frame: encodeTcpFrame(Cmd.CMD_UNKNOWN, 0, body), close: false };
}
