// KICK_OUT: what a socket hears before the server closes it for another device or an ended session.
import { Cmd, encodeFrame, pb } from "../../protocol/codec";
import { CloseCode } from "../../protocol/limits";
import { closeSocket, saveSocketState, sendFrame, socketState } from "./socket-state";

/** KickOutNotification.reason values (PROTOCOL.md). */
export const KickReason = { anotherDevice: 1, accountProblem: 2 } as const;
export type KickReason = (typeof KickReason)[keyof typeof KickReason];

export function kickOutFrame(reason: KickReason, message: string): Uint8Array {
  return encodeFrame(Cmd.CMD_KICK_OUT, 0, pb.KickOutNotification, { reason, message });
}

/** KICK_OUT for a socket whose login session was ended (logout elsewhere, password change, admin). */
export function sessionEndedFrame(): Uint8Array {
  return kickOutFrame(KickReason.accountProblem, "this session has ended: log in again");
}

/** KICK_OUT for every socket of an account the admin API banned. */
export function accountBannedFrame(): Uint8Array {
  return kickOutFrame(KickReason.accountProblem, "this account is banned");
}

/** Why sessions end: the socket's KICK_OUT says which. */
export type SessionEnd = "ended" | "banned";

/**
 * Logout, a password change or an admin ended the login sessions `ended` names: their sockets get
 * KICK_OUT (reason 2) and close, so a revoked token stops reading at once. True when one of them
 * was authenticated (the user may have gone offline).
 */
export function closeEndedSessions(
  sockets: WebSocket[],
  ended: (loginSessionId: string) => boolean,
  why: SessionEnd = "ended",
): boolean {
  const frame = why === "banned" ? accountBannedFrame() : sessionEndedFrame();
  let closedAuthed = false;
  for (const ws of sockets) {
    const state = socketState(ws);
    if (!ended(state.loginSessionId)) continue;
    closedAuthed ||= state.authed;
    saveSocketState(ws, { ...state, authed: false });
    sendFrame(ws, frame);
    closeSocket(ws, CloseCode.kicked, why === "banned" ? "account banned" : "session ended");
  }
  return closedAuthed;
}
