// A SEND_MSG_REQ's rich fields (docs/RICH-MESSAGES.md, "Sending"): what a rich_messages socket may
// ask of a new message (a reply, mentions, a forward), checked for shape here and for meaning by
// the conversation; any other socket that sets a field numbered 100 or more is refused. A forward
// is read from its source conversation before the send goes to its own.
import { Err, type MessageInfo } from "../../protocol/codec";
import { isValidId, parseConversationId } from "../../protocol/conversation-id";
import type { RichSend } from "../message";
import type { SendInput } from "../rpc";
import { RequestError, type UserServices } from "./frame-context";
import { memberRefusal } from "./membership";
import { DECLARE_RICH } from "./rich-request";

/** Most users one message may mention (the conversation checks that each is a member). */
export const MAX_MENTIONS = 50;

/** The message a forward copies. */
export interface ForwardOf {
  conversationId: string;
  serverMsgId: string;
}

/** What a send's rich fields ask for: the conversation's part, and a forward's source. */
export interface RichAsk {
  rich?: RichSend;
  forwardOf?: ForwardOf;
}

/**
 * Whether the message sets any field numbered 100 or more. Property reads only: a plain send (the
 * SDK's) pays nothing more for rich messages.
 */
export function setsRichFields(m: MessageInfo): boolean {
  return (
    m.replyTo != null ||
    (m.mentionUserIds?.length ?? 0) > 0 ||
    m.mentionAll === true ||
    m.forwardedFrom != null ||
    m.forwardOf != null ||
    Number(m.editedTime ?? 0) !== 0 ||
    (m.editCount ?? 0) !== 0 ||
    (m.reactions?.length ?? 0) > 0 ||
    (m.replyCount ?? 0) !== 0 ||
    Number(m.modSeq ?? 0) !== 0
  );
}

/**
 * The rich part of a send; throws a refusal for a socket that did not declare the feature, or for
 * malformed fields. The fields only the server sets (forwarded_from, edits, reactions, counts) are
 * ignored when a client sends them.
 */
export function richAsk(m: MessageInfo, declaresRich: boolean): RichAsk {
  if (!setsRichFields(m)) return {};
  if (!declaresRich) throw new RequestError(Err.ERR_INVALID_PARAM, DECLARE_RICH);
  const rich: RichSend = {};
  if (m.replyTo != null) {
    const id = m.replyTo.serverMsgId ?? "";
    if (!isValidId(id)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed reply_to.server_msg_id");
    rich.replyTo = id;
  }
  const mentions = [...new Set(m.mentionUserIds ?? [])];
  if (mentions.length > MAX_MENTIONS)
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${MAX_MENTIONS} mention_user_ids`);
  if (!mentions.every(isValidId)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed mention_user_ids");
  if (mentions.length > 0) rich.mentionUserIds = mentions;
  if (m.mentionAll === true) rich.mentionAll = true;
  let forwardOf: ForwardOf | undefined;
  if (m.forwardOf != null) {
    const source = parseConversationId(m.forwardOf.conversationId ?? "");
    if (!source) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed forward_of.conversation_id");
    const serverMsgId = m.forwardOf.serverMsgId ?? "";
    if (!isValidId(serverMsgId))
      throw new RequestError(Err.ERR_INVALID_PARAM, "malformed forward_of.server_msg_id");
    forwardOf = { conversationId: source.id, serverMsgId };
  }
  return {
    rich: Object.keys(rich).length > 0 ? rich : undefined,
    forwardOf,
  };
}

/**
 * A forward's input: the source message's type, content, extra and attached info in place of the
 * sender's, and whose it was. The source is read from its conversation, which checks that the
 * sender could see it (and not revoked); this object first checks that the sender belongs to it,
 * so no conversation the sender has no part in is woken. Any refusal is the send's (`refused`), so
 * it is answered in its turn and a resend of a stored one still gets the stored message.
 */
export async function withForwardedContent(
  services: Pick<UserServices, "env" | "inbox">,
  input: SendInput,
  forwardOf: ForwardOf,
  allowedTypes: ReadonlySet<number>,
): Promise<SendInput> {
  const refused = (message: string): SendInput => ({
    ...input,
    refused: { code: Err.ERR_INVALID_PARAM, message },
  });
  const source = parseConversationId(forwardOf.conversationId);
  if (!source) return refused("malformed forward_of.conversation_id");
  if (await memberRefusal(services, input.senderId, source))
    return refused("forward_of: not a member of the source conversation");
  const read = await services.env.CONVERSATION_OBJECT.getByName(source.id).forwardSource({
    userId: input.senderId,
    serverMsgId: forwardOf.serverMsgId,
  });
  if (!read.ok) return { ...input, refused: { code: read.code, message: `forward_of: ${read.message}` } };
  const original = read.message;
  if (!allowedTypes.has(original.messageType))
    return refused(`forward_of: a message of type ${original.messageType} cannot be forwarded`);
  return {
    ...input,
    messageType: original.messageType,
    content: original.content,
    extra: original.extra,
    attachedInfo: original.attachedInfo,
    rich: {
      ...input.rich,
      forwardedFrom: { senderId: original.senderId, serverTime: original.serverTime },
    },
  };
}
