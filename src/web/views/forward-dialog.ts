// Forwarding: a dialog listing the chats; the one chosen gets a copy of the message, marked as
// forwarded from its sender (the server copies it: docs/RICH-MESSAGES.md, "Sending").
import type { Message } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h } from "../dom.ts";
import { avatar } from "./avatar.ts";
import { conversationTitle } from "./conversation-list.ts";
import { openDialog } from "./dialog.ts";
import { messageSnippet } from "./quote.ts";

export function openForwardDialog(ctx: AppContext, message: Message): void {
  const rows = ctx.conversations.visible();
  openDialog("Forward to…", (close) => [
    h("p", { class: "dialog-quote" }, messageSnippet(message)),
    rows.length === 0
      ? h("p", { class: "muted" }, "No chats to forward to yet.")
      : h(
          "ul",
          { class: "forward-list", "aria-label": "Chats" },
          ...rows.map((row) => {
            const title = conversationTitle(ctx, row);
            return h(
              "li",
              null,
              h(
                "button",
                {
                  class: "forward-target",
                  type: "button",
                  "aria-label": `Forward to ${title}`,
                  onclick: () => {
                    close();
                    ctx.client
                      .forward(
                        { conversationId: row.id },
                        { conversationId: message.conversationId, serverMsgId: message.serverMsgId },
                      )
                      .then(
                        () => ctx.toast(`Forwarded to ${title}`),
                        (error: unknown) => ctx.toast(`Could not forward: ${errorText(error)}`),
                      );
                  },
                },
                avatar(row.type === 2 ? row.groupId : row.peerId, title, "sm", row.type === 2),
                h("span", null, title),
              ),
            );
          }),
        ),
  ]);
}
