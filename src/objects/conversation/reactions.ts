// REACT: a member who could send here adds or takes back an emoji on a message they can see. A
// reaction is not a message: it takes no seq and changes no unread count, only the message's rich
// fields (a change, pushed to the members who had the message). Adding one already there, or taking
// back one that is not, changes nothing and answers the reactions as they are.
import { Err } from "../../protocol/codec";
import { refusal, type ReactInput, type ReactResult } from "../rpc";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { decodeRich } from "../rich-fields";
import { changeRefusal, memberAndMessage } from "./rich-access";
import { inChangeTransaction, changeMessage, pushChanges } from "./rich-changes";

/** Distinct emojis one message may carry. */
export const EMOJIS_PER_MESSAGE = 20;
/** Reactions one user may put on one message. */
export const OWN_REACTIONS_PER_MESSAGE = 10;
/** An emoji's UTF-8 bytes at most (a family or flag sequence fits). */
export const EMOJI_MAX_BYTES = 32;

/** 1–32 UTF-8 bytes, no whitespace or control characters. */
export function validEmoji(emoji: unknown): emoji is string {
  if (typeof emoji !== "string" || emoji === "") return false;
  if (new TextEncoder().encode(emoji).byteLength > EMOJI_MAX_BYTES) return false;
  return !/[\s\p{Cc}]/u.test(emoji);
}

export async function react(
  c: Pick<
    ConversationContext,
    "blocks" | "changePump" | "db" | "members" | "messages" | "now" | "rich" | "storage"
  >,
  { conversation, id }: Named,
  input: ReactInput,
): Promise<ReactResult> {
  const found = memberAndMessage(c, conversation, id, input.userId, input.serverMsgId, true);
  if ("ok" in found) return found;
  // A reaction is pushed live to every member: refused where a send would be (a mute included: it
  // silences the member), and where the member blocks the peer.
  const refused = await changeRefusal(c, conversation, input.userId);
  if (refused) return refused;
  const { message } = found;
  if (message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
  if (!validEmoji(input.emoji))
    return refusal(Err.ERR_INVALID_PARAM, `an emoji is 1 to ${EMOJI_MAX_BYTES} bytes without spaces`);
  const { seq } = message;
  const there = c.rich.hasReaction(seq, input.emoji, input.userId);
  if (there === !input.remove)
    return { ok: true, reactions: c.rich.reactions(seq), modSeq: decodeRich(message.ext).modSeq ?? 0 };
  if (!input.remove) {
    const counts = c.rich.reactionCounts(seq, input.userId);
    if (counts.own >= OWN_REACTIONS_PER_MESSAGE)
      return refusal(
        Err.ERR_INVALID_PARAM,
        `at most ${OWN_REACTIONS_PER_MESSAGE} of your reactions on one message`,
      );
    const newEmoji = !c.rich.hasEmoji(seq, input.emoji);
    if (newEmoji && counts.emojis >= EMOJIS_PER_MESSAGE)
      return refusal(Err.ERR_INVALID_PARAM, `at most ${EMOJIS_PER_MESSAGE} different emojis on one message`);
  }
  const change = inChangeTransaction(c, () => {
    if (input.remove) c.rich.removeReaction(seq, input.emoji, input.userId);
    else c.rich.addReaction(seq, input.emoji, input.userId, c.now());
    const reactions = c.rich.reactions(seq);
    const changed = changeMessage(c, message, (fields) => {
      if (reactions.length > 0) fields.reactions = reactions;
      else delete fields.reactions;
    });
    return { changed, reactions };
  });
  pushChanges(c, id, [change.changed], input.originSession);
  return { ok: true, reactions: change.reactions, modSeq: change.changed.modSeq };
}
