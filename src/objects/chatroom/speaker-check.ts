// Who may speak: a listener whose login session still stands and whose account is not banned. The
// worker checked that at the upgrade; a socket can outlive it (an admin bans the user, the user logs
// out), and a room keeps no list of who listens where, so the relay asks D1 again before a socket's
// first send and then at most every SPEAKER_RECHECK_MS: one indexed read per speaker, never per
// message, and never for a listener who only listens.
import { sessionRefusal, sessionVerdict } from "../../auth/sessions";
import { database } from "../../db/client";
import { Err } from "../../protocol/codec";
import { liveListener, saveListener } from "./listener-state";
import { ChatroomRequestError, type RelayFrame } from "./relay-frame";

export const SPEAKER_RECHECK_MS = 30_000;

/** Throws the refusal when the socket's session no longer stands. */
export async function checkSpeaker(fc: RelayFrame): Promise<void> {
  const now = Date.now();
  if (fc.listener.checkedAt > 0 && now - fc.listener.checkedAt < SPEAKER_RECHECK_MS) return;
  const verdict = await sessionVerdict(database(fc.env), fc.listener.userId, fc.listener.sessionId);
  if (verdict !== "stands") throw new ChatroomRequestError(Err.ERR_AUTH_FAILED, sessionRefusal(verdict));
  // Read again after the await: an ack handled meanwhile moved ackedSeq, which must not go back.
  fc.listener = { ...liveListener(fc.ws).state, checkedAt: now };
  saveListener(fc.ws, fc.listener);
}
