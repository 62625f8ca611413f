// A send's rich fields checked and completed (docs/RICH-MESSAGES.md, "Sending"): the quoted message
// must be here and visible to the sender, not revoked, and its reference is filled in by the server;
// mentions name members; @all is for a group's owner and admins. What passes becomes the message's
// `ext`; what does not refuses that message alone, before anything is stored.
import { Err } from "../../protocol/codec";
import { ConversationType, type ParsedConversation } from "../../protocol/conversation-id";
import type { Identity, RichSend } from "../message";
import { encodeRich, snippetOf, type RichFields } from "../rich-fields";
import { refusal, type Refusal } from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor } from "./conversation-access";
import { Role } from "./member-store";

/** Users one message may mention. */
export const MENTIONS_MAX = 50;

/** Longest user id a forward's origin may name (ids are UUIDs or the admin's names). */
const USER_ID_MAX_CHARS = 128;

/** The message's rich fields encoded (undefined: none set), or why the message is refused. */
export function richExt(
  c: Pick<ConversationContext, "members" | "messages">,
  conversation: ParsedConversation,
  id: Identity,
  senderId: string,
  rich: RichSend,
): { ext: Uint8Array | undefined } | Refusal {
  const sender = memberFor(c.members, conversation, senderId);
  if (!sender) return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  const fields: RichFields = {};
  if (rich.replyTo !== undefined) {
    const quoted =
      typeof rich.replyTo === "string" && rich.replyTo !== ""
        ? c.messages.findByServerMsgId(rich.replyTo, id)
        : null;
    if (!quoted || quoted.seq < sender.firstSeq || quoted.seq > (sender.leftSeq ?? Infinity))
      return refusal(Err.ERR_INVALID_PARAM, "the quoted message is not in this conversation");
    if (quoted.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the quoted message was revoked");
    fields.replyTo = {
      serverMsgId: quoted.serverMsgId,
      seq: quoted.seq,
      senderId: quoted.senderId,
      messageType: quoted.messageType,
      snippet: snippetOf(quoted.messageType, quoted.content),
      revoked: false,
    };
  }
  if (rich.mentionUserIds !== undefined && rich.mentionUserIds.length > 0) {
    if (!Array.isArray(rich.mentionUserIds) || rich.mentionUserIds.length > MENTIONS_MAX)
      return refusal(Err.ERR_INVALID_PARAM, `a message mentions at most ${MENTIONS_MAX} users`);
    // The sender mentioning themselves, or anyone twice, says nothing more: dropped.
    const mentioned = [...new Set(rich.mentionUserIds)].filter((userId) => userId !== senderId);
    for (const userId of mentioned) {
      const member = typeof userId === "string" ? memberFor(c.members, conversation, userId) : null;
      if (!member || member.leftSeq !== null)
        return refusal(
          Err.ERR_INVALID_PARAM,
          `mentioned user ${String(userId)} is not a member of this conversation`,
        );
    }
    if (mentioned.length > 0) fields.mentionUserIds = mentioned;
  }
  if (rich.mentionAll === true) {
    if (conversation.type !== ConversationType.group)
      return refusal(Err.ERR_INVALID_PARAM, "mention_all is for groups");
    if (sender.role < Role.admin)
      return refusal(Err.ERR_PERMISSION_DENIED, "only the group's owner and admins can mention everyone");
    fields.mentionAll = true;
  }
  if (rich.forwardedFrom !== undefined) {
    const { senderId: from, serverTime } = rich.forwardedFrom;
    if (
      typeof from !== "string" ||
      from.length > USER_ID_MAX_CHARS ||
      !Number.isSafeInteger(serverTime) ||
      serverTime < 0
    )
      return refusal(Err.ERR_INVALID_PARAM, "forwarded_from is malformed");
    fields.forwardedFrom = { senderId: from, serverTime };
  }
  return { ext: encodeRich(fields) };
}
