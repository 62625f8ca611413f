// PIN: a group's owner and admins, or either member of a one-to-one, pin a message they can see (at
// most PINS_MAX, newest first) or unpin one (an admin may unpin a message from before they joined).
// Refused where the member could not send (a block either way, a dismissed group). A pin is not a
// message: the pinned list takes the conversation's next change number and goes whole to every
// member. Pinning a pinned message or unpinning one that is not changes nothing and answers the list.
// Each reader's list holds only the pinned messages they could see.
import { Err } from "../../protocol/codec";
import { ConversationType } from "../../protocol/conversation-id";
import { refusal, type PinInput, type PinResult } from "../rpc";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { Role } from "./member-store";
import { changeRefusal, memberOf, sees, visiblePins } from "./rich-access";
import { inChangeTransaction, pushPinned } from "./rich-changes";

/** Messages one conversation may have pinned. */
export const PINS_MAX = 10;

export async function pin(
  c: Pick<
    ConversationContext,
    "blocks" | "changePump" | "db" | "members" | "messages" | "now" | "rich" | "storage"
  >,
  { conversation, id }: Named,
  input: PinInput,
): Promise<PinResult> {
  const member = memberOf(c, conversation, input.userId, true);
  if ("ok" in member) return member;
  const message =
    typeof input.serverMsgId === "string" ? c.messages.findByServerMsgId(input.serverMsgId, id) : null;
  // Unpinning needs only the message pinned: a pin from before an admin joined is theirs to take down.
  const reachable = message && (sees(member, message.seq) || (input.unpin && c.rich.isPinned(message.seq)));
  if (!message || !reachable) return refusal(Err.ERR_INVALID_PARAM, "no such message in this conversation");
  const mayPin =
    conversation.type === ConversationType.single ||
    (conversation.type === ConversationType.group && member.role >= Role.admin);
  if (!mayPin)
    return refusal(Err.ERR_PERMISSION_DENIED, "only the group's owner and admins can pin messages");
  const refused = await changeRefusal(c, conversation, input.userId);
  if (refused) return refused;
  const pinned = c.rich.isPinned(message.seq);
  if (pinned === !input.unpin)
    return { ok: true, pins: visiblePins(c.rich.pins(), member), modSeq: c.rich.pinsModSeq() };
  if (!input.unpin) {
    if (message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
    if (c.rich.pinCount() >= PINS_MAX)
      return refusal(Err.ERR_INVALID_PARAM, `at most ${PINS_MAX} messages can be pinned`);
  }
  const modSeq = inChangeTransaction(c, () =>
    c.rich.setPinned(message.seq, input.unpin ? null : { by: input.userId, at: c.now() }),
  );
  pushPinned(c, id, modSeq, input.originSession);
  return { ok: true, pins: visiblePins(c.rich.pins(), member), modSeq };
}
