// KICK_OUT: what a socket hears before the server closes it for another device or an ended session.
import { Cmd, encodeFrame, pb } from "../../protocol/codec";

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
