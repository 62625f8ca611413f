// CONNECT, HEARTBEAT, AUTH / REAUTH and DISCONNECT.
import { verifyAccessToken } from "../../../auth/jwt";
import { Cmd, Err, encodeRawFrame, pb } from "../../../protocol/codec";
import { CloseCode } from "../../../protocol/limits";
import { decodeBody, notice, refuse, reply, type FrameContext } from "../frame-context";
import { closeSocket, saveSocketState, sendFrame } from "../socket-state";

export function connect(fc: FrameContext): void {
  const req = decodeBody(fc, pb.ConnectRequest);
  if (req.platform && !fc.state.platform) {
    saveSocketState(fc.ws, { ...fc.state, platform: req.platform.slice(0, 32) });
  }
  reply(fc, Cmd.CMD_CONNECT_RSP, pb.ConnectResponse, {
    errorCode: Err.ERR_SUCCESS,
    serverTime: Date.now(),
    sessionId: fc.state.sessionId,
  });
}

export function heartbeat(fc: FrameContext): void {
  decodeBody(fc, pb.HeartbeatRequest);
  reply(fc, Cmd.CMD_HEARTBEAT_RSP, pb.HeartbeatResponse, { serverTime: Date.now() });
}

/**
 * AUTH (and REAUTH on a live socket): the token must be valid and name the user whose token opened
 * the socket (PROTOCOL.md, decision 5). A refusal answers with the code, then closes the socket.
 */
export async function authenticate(fc: FrameContext, response: Cmd): Promise<void> {
  const req = decodeBody(fc, pb.AuthRequest);
  const fail = (code: Err, message: string) => {
    reply(fc, response, pb.AuthResponse, { errorCode: code, errorMsg: message });
    closeSocket(fc.ws, CloseCode.policyViolation, message);
  };
  if (!req.token) return fail(Err.ERR_AUTH_FAILED, "token is required");
  const verified = await verifyAccessToken(fc.settings.jwtSecret, req.token);
  if (!verified.ok) {
    return verified.reason === "expired"
      ? fail(Err.ERR_TOKEN_EXPIRED, "token expired")
      : fail(Err.ERR_AUTH_FAILED, "invalid token");
  }
  const tokenUser = verified.claims.userId;
  if (tokenUser !== fc.state.userId || (req.userId && req.userId !== tokenUser)) {
    return fail(Err.ERR_AUTH_FAILED, "token does not belong to this connection's user");
  }
  const platform = (req.platform || fc.state.platform).slice(0, 32);
  if (!fc.state.authed || platform !== fc.state.platform) {
    saveSocketState(fc.ws, { ...fc.state, authed: true, platform });
  }
  reply(fc, response, pb.AuthResponse, { errorCode: Err.ERR_SUCCESS, maxSeq: fc.inbox.inboxSeq() });
}

export function disconnect(fc: FrameContext): void {
  sendFrame(fc.ws, encodeRawFrame(Cmd.CMD_DISCONNECT_RSP, fc.frame.sequence, new Uint8Array()));
  closeSocket(fc.ws, CloseCode.normal, "client disconnected");
}

/** Commands that arrive in this build's protocol but are served by later work (receipts, typing …). */
export function notSupportedYet(fc: FrameContext): void {
  refuse(fc, Err.ERR_UNKNOWN, `command ${fc.frame.command} is not supported yet`);
}

export function serverOnly(fc: FrameContext): void {
  notice(fc, Err.ERR_INVALID_PARAM, `command ${fc.frame.command} is sent by the server, not the client`);
}
