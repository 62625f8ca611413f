// What a reply shows of the message it quotes: who wrote it and its first words (or what kind of
// message it was, or that it was revoked), as a button that scrolls to it.
import type { Message, ReplyRef } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h } from "../dom.ts";
import { previewText } from "../format.ts";
import { displayName } from "./conversation-list.ts";

/** The server keeps a quote's first 100 characters; the page shows as many. */
const SNIPPET_CHARS = 100;

/** One line of a message for a quote or a reply chip. */
export function messageSnippet(m: Pick<Message, "messageType" | "text" | "isRevoked">): string {
  return previewText(m.messageType, m.text, m.isRevoked).slice(0, SNIPPET_CHARS);
}

/** The quoted message of a reply; a click shows it in the timeline. */
export function renderQuote(ctx: AppContext, ref: ReplyRef, show: (seq: number) => void): HTMLElement {
  const snippet = ref.revoked
    ? "Message revoked"
    : ref.snippet || messageSnippet({ messageType: ref.messageType, text: "", isRevoked: false });
  const sender = displayName(ctx, ref.senderId);
  return h(
    "button",
    {
      class: `quote${ref.revoked ? " revoked" : ""}`,
      type: "button",
      title: "Show the quoted message",
      "aria-label": `Quoted message from ${sender}: ${snippet}`,
      onclick: () => show(ref.seq),
    },
    h("strong", { class: "quote-sender" }, sender),
    h("span", { class: "quote-text" }, snippet),
  );
}
