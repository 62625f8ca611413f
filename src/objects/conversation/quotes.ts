// The replies quoting a message, rewritten when it changes (docs/RICH-MESSAGES.md): a revoke marks
// their quote revoked, an edit gives them the new snippet. Each rewritten reply is a change of its
// own, which the change pumps bring to the members, CHANGE_BATCH a call (change-pump.ts).
import type { Identity } from "../message";
import type { RichFields } from "../rich-fields";
import type { ConversationContext } from "./context";
import { changeMessage, type Changed } from "./rich-changes";

type Quote = NonNullable<RichFields["replyTo"]>;

/**
 * In the caller's transaction: gives every reply quoting `quotedSeq` the quote `rewrite` makes of its
 * current one (a change each). Returns the changes, oldest first.
 */
export function rewriteQuotes(
  c: Pick<ConversationContext, "messages" | "rich">,
  id: Identity,
  quotedSeq: number,
  rewrite: (quote: Quote) => Quote,
): Changed[] {
  const changes: Changed[] = [];
  for (const seq of c.messages.replySeqs(quotedSeq)) {
    const reply = c.messages.range(seq, seq, 1, id)[0];
    if (!reply) continue;
    changes.push(
      changeMessage(c, reply, (fields) => {
        if (fields.replyTo) fields.replyTo = rewrite(fields.replyTo);
      }),
    );
  }
  return changes;
}
