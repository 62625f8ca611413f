// The replies quoting a message, rewritten when it changes (docs/RICH-MESSAGES.md): a revoke marks
// their quote revoked, an edit gives them the new snippet. Each rewritten reply is a change of its
// own; only the newest QUOTE_PUSHES_MAX of them are pushed live, the rest reach devices through
// CHANGES_REQ (a client that saw the quoted message change can refresh its quotes itself).
import type { Identity } from "../message";
import type { RichFields } from "../rich-fields";
import type { ConversationContext } from "./context";
import { changeMessage, type Changed } from "./rich-changes";

type Quote = NonNullable<RichFields["replyTo"]>;

/**
 * Replies quoting a changed message whose change is pushed live, the newest; the others are changed
 * all the same. A long thread would otherwise cost an RPC per reply and member.
 */
export const QUOTE_PUSHES_MAX = 50;

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

/** The changes of `rewriteQuotes` that are pushed live: the newest QUOTE_PUSHES_MAX. */
export function quotesPushedLive(changes: readonly Changed[]): Changed[] {
  return changes.slice(-QUOTE_PUSHES_MAX);
}
