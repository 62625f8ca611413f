// EDIT: the sender replaces the content of their own text message, within MESSAGE_EDIT_WINDOW_SECONDS
// of its server_time, at most EDITS_PER_MESSAGE times. Every earlier content is kept (EDIT_HISTORY
// reads them); the row is queued for D1 again, as a revoke's is, so history and search get the new
// text; the members who had the message are sent its new state.
import { Err } from "../../protocol/codec";
import { decodeRich } from "../rich-fields";
import { refusal, type EditInput, type EditHistoryResult, type EditResult, type MessageQuery } from "../rpc";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { memberAndMessage } from "./rich-access";
import { inChangeTransaction, changeMessage, pushChanges } from "./rich-changes";

/** Edits one message may have (its earlier contents are all kept). */
export const EDITS_PER_MESSAGE = 20;

/** Text: the only message type whose content is the sender's words (others hold JSON or a URL). */
const TEXT = 1;

export async function edit(
  c: Pick<
    ConversationContext,
    "changePump" | "history" | "members" | "messages" | "now" | "outbox" | "rich" | "settings" | "storage"
  >,
  { conversation, id }: Named,
  input: EditInput,
): Promise<EditResult> {
  const found = memberAndMessage(c, conversation, id, input.userId, input.serverMsgId, true);
  if ("ok" in found) return found;
  const { message } = found;
  if (message.senderId !== input.userId)
    return refusal(Err.ERR_PERMISSION_DENIED, "only its sender can edit a message");
  if (message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
  if (message.messageType !== TEXT) return refusal(Err.ERR_INVALID_PARAM, "only text messages can be edited");
  const settings = c.settings();
  const now = c.now();
  if (now - message.serverTime > settings.messageEditWindowSeconds * 1000)
    return refusal(
      Err.ERR_PERMISSION_DENIED,
      `messages can only be edited within ${settings.messageEditWindowSeconds} seconds`,
    );
  const content = input.content;
  if (!(content instanceof Uint8Array) || content.byteLength === 0)
    return refusal(Err.ERR_INVALID_PARAM, "the new content is empty");
  if (content.byteLength > settings.messageMaxBytes)
    return refusal(Err.ERR_INVALID_PARAM, `content is larger than ${settings.messageMaxBytes} bytes`);
  const editCount = decodeRich(message.ext).editCount ?? 0;
  if (editCount >= EDITS_PER_MESSAGE)
    return refusal(Err.ERR_INVALID_PARAM, `a message can be edited at most ${EDITS_PER_MESSAGE} times`);
  const change = inChangeTransaction(c, () => {
    c.rich.keepEdit(message.seq, editCount + 1, message.content, now);
    c.outbox.requeue(message.seq);
    return changeMessage(
      c,
      message,
      (fields) => {
        fields.editedTime = now;
        fields.editCount = editCount + 1;
      },
      content,
    );
  });
  await c.history.afterSend(id);
  pushChanges(c, id, [change], input.originSession);
  return { ok: true, editedTime: now, editCount: editCount + 1 };
}

/** A member's EDIT_HISTORY: the earlier contents of a message they can see, oldest first. */
export function editHistory(
  c: Pick<ConversationContext, "members" | "messages" | "rich">,
  { conversation, id }: Named,
  query: MessageQuery,
): EditHistoryResult {
  const found = memberAndMessage(c, conversation, id, query.userId, query.serverMsgId, false);
  if ("ok" in found) return found;
  if (found.message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
  return { ok: true, versions: c.rich.editHistory(found.message.seq) };
}
