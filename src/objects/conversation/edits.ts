// EDIT: the sender replaces the content of their own text message, within MESSAGE_EDIT_WINDOW_SECONDS
// of its server_time, at most EDITS_PER_MESSAGE times, where they could send now (an edit is new
// text: a block, a mute or a dismissed group refuses it as it would a send). Every earlier content
// is kept (EDIT_HISTORY reads them); the row is queued for D1 again, as a revoke's is, so history and
// search get the new text; the replies quoting it get its new snippet; the members who had the
// message are sent its new state.
import { Err } from "../../protocol/codec";
import { decodeRich, snippetOf } from "../rich-fields";
import {
  refusal,
  type EditHistoryQuery,
  type EditHistoryResult,
  type EditInput,
  type EditResult,
  type EditVersion,
} from "../rpc";
import type { ConversationContext } from "./context";
import type { Named } from "./identity";
import { rewriteQuotes } from "./quotes";
import { changeRefusal, memberAndMessage } from "./rich-access";
import { inChangeTransaction, changeMessage, pushChanges } from "./rich-changes";

/** Edits one message may have (its earlier contents are all kept). */
export const EDITS_PER_MESSAGE = 20;

/** Text: the only message type whose content is the sender's words (others hold JSON or a URL). */
const TEXT = 1;

/** A MessageVersion's encoded size past its content, at most (tags, lengths, time, version). */
const VERSION_OVERHEAD_BYTES = 32;

export async function edit(
  c: Pick<
    ConversationContext,
    | "blocks"
    | "changePump"
    | "db"
    | "history"
    | "members"
    | "messages"
    | "now"
    | "outbox"
    | "rich"
    | "settings"
    | "storage"
  >,
  { conversation, id }: Named,
  input: EditInput,
): Promise<EditResult> {
  const found = memberAndMessage(c, conversation, id, input.userId, input.serverMsgId, true);
  if ("ok" in found) return found;
  const { message } = found;
  if (message.senderId !== input.userId)
    return refusal(Err.ERR_PERMISSION_DENIED, "only its sender can edit a message");
  const refused = await changeRefusal(c, conversation, input.userId);
  if (refused) return refused;
  if (message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
  if (message.messageType !== TEXT) return refusal(Err.ERR_INVALID_PARAM, "only text messages can be edited");
  const fields = decodeRich(message.ext);
  // A forward shows another's words under forwarded_from: edited, it would put new ones in their mouth.
  if (fields.forwardedFrom) return refusal(Err.ERR_INVALID_PARAM, "a forwarded message cannot be edited");
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
  const editCount = fields.editCount ?? 0;
  if (editCount >= EDITS_PER_MESSAGE)
    return refusal(Err.ERR_INVALID_PARAM, `a message can be edited at most ${EDITS_PER_MESSAGE} times`);
  const snippet = snippetOf(message.messageType, content);
  const { change, quotes } = inChangeTransaction(c, () => {
    c.rich.keepEdit(message.seq, editCount + 1, message.content, now);
    c.outbox.requeue(message.seq);
    const change = changeMessage(
      c,
      message,
      (fields) => {
        fields.editedTime = now;
        fields.editCount = editCount + 1;
      },
      content,
    );
    // Bounded as a revoke's: every reply is rewritten, the newest are pushed live.
    const quotes = rewriteQuotes(c, id, message.seq, (quote) => ({ ...quote, snippet }));
    return { change, quotes };
  });
  await c.history.afterSend(id);
  pushChanges(c, id, [change], input.originSession);
  // The editing device refreshes the quotes on its screen only when told: all devices get them.
  pushChanges(c, id, quotes, "");
  return { ok: true, editedTime: now, editCount: editCount + 1, modSeq: change.modSeq };
}

/**
 * A member's EDIT_HISTORY: the earlier contents of a message they can see, the newest before
 * `beforeVersion` that fit `maxBytes` (the first always goes), given oldest first.
 */
export function editHistory(
  c: Pick<ConversationContext, "members" | "messages" | "rich">,
  { conversation, id }: Named,
  query: EditHistoryQuery,
): EditHistoryResult {
  const found = memberAndMessage(c, conversation, id, query.userId, query.serverMsgId, false);
  if ("ok" in found) return found;
  if (found.message.isRevoked) return refusal(Err.ERR_INVALID_PARAM, "the message was revoked");
  const before = Math.max(0, Math.floor(query.beforeVersion) || 0);
  const maxBytes = Math.max(1, query.maxBytes);
  const versions: EditVersion[] = [];
  let used = 0;
  let hasMore = false;
  for (const version of c.rich.editsNewestFirst(found.message.seq, before)) {
    used += version.content.byteLength + VERSION_OVERHEAD_BYTES;
    if (versions.length > 0 && used > maxBytes) {
      hasMore = true;
      break;
    }
    versions.push(version);
  }
  return { ok: true, versions: versions.reverse(), hasMore };
}
