// REACT_REQ (rich messages): add or take back the user's reaction on a message; the conversation's
// object keeps reactions and tells every member's rich devices (MESSAGE_UPDATED_PUSH).
import { Cmd, Err, pb } from "../../../protocol/codec";
import { decodeBody, RequestError, requestedConversation, type FrameContext } from "../frame-context";
import { requestedMessageId, requireMember, changeRequest } from "../rich-request";

/** An emoji's most UTF-8 bytes (docs/RICH-MESSAGES.md, "Reactions"). */
export const MAX_EMOJI_BYTES = 32;

/** Whitespace or a control character: never part of an emoji. */
const NOT_EMOJI = /[\s\p{Cc}]/u;

export async function react(fc: FrameContext<"env" | "inbox" | "changeLimiter">): Promise<void> {
  await changeRequest(fc, Cmd.CMD_REACT_RSP, pb.ReactResponse, async () => {
    const req = decodeBody(fc, pb.ReactRequest);
    const conversation = requestedConversation(req.conversationId);
    const serverMsgId = requestedMessageId(req.serverMsgId);
    const emoji = req.emoji ?? "";
    const bytes = new TextEncoder().encode(emoji).byteLength;
    if (bytes === 0 || bytes > MAX_EMOJI_BYTES || NOT_EMOJI.test(emoji))
      throw new RequestError(
        Err.ERR_INVALID_PARAM,
        `emoji must be 1-${MAX_EMOJI_BYTES} UTF-8 bytes without spaces or control characters`,
      );
    await requireMember(fc, conversation);
    const result = await fc.env.CONVERSATION_OBJECT.getByName(conversation.id).react({
      userId: fc.state.userId,
      serverMsgId,
      emoji,
      remove: req.remove === true,
      originSession: fc.state.sessionId,
    });
    if (!result.ok) throw new RequestError(result.code, result.message);
    return { reactions: result.reactions, modSeq: result.modSeq };
  });
}
