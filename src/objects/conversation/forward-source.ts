// A forward's source: the sender's object reads the message it copies from the conversation it is in
// (docs/RICH-MESSAGES.md, "Sending"). Only a member of this conversation who could see the message,
// and not once it is revoked.
import { Err } from "../../protocol/codec";
import { refusal, type ForwardSourceResult, type MessageQuery } from "../rpc";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { memberAndMessage } from "./rich-access";

export function forwardSource(
  c: Pick<ConversationContext, "members" | "messages">,
  { conversation, id }: Named,
  query: MessageQuery,
): ForwardSourceResult {
  const found = memberAndMessage(c, conversation, id, query.userId, query.serverMsgId, true);
  if ("ok" in found) return found;
  if (found.message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
  return { ok: true, message: found.message };
}
