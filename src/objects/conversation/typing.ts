// Typing in a group: relayed to the other members as it comes, never stored. (One-to-one typing
// goes from the typist's object straight to the peer's, without this one.)
import { Err } from "../../protocol/codec";
import { refusal, type Refusal } from "../rpc";
import type { ConversationContext } from "./context";
import { memberFor } from "./conversation-access";
import type { Named } from "./identity";
import { logEvent } from "../../observability/log";

export function relayTyping(
  c: Pick<ConversationContext, "members" | "users">,
  { conversation, id }: Named,
  userId: string,
  status: number,
): Refusal | null {
  const member = memberFor(c.members, conversation, userId);
  if (!member || member.leftSeq !== null)
    return refusal(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
  const push = { conversationId: id.conversationId, userId, status };
  for (const other of c.members.activeIds()) {
    if (other === userId) continue;
    void c
      .users()
      .getByName(other)
      .pushTyping(push)
      .catch((error: unknown) => logEvent("warn", "typing_push_failed", { userId: other }, error));
  }
  return null;
}
