// The chat list: avatar, name, last message, time, unread badge; pinned first, then newest.
import { MessageType } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { unread, type ConversationRow } from "../conversations.ts";
import { h, replace } from "../dom.ts";
import { previewText, shortTime } from "../format.ts";
import { describeNotice, parseNotice } from "../notices.ts";
import { icon } from "../icons.ts";
import { avatar } from "./avatar.ts";

export function conversationTitle(ctx: AppContext, row: ConversationRow): string {
  return row.type === 2 ? ctx.directory.groupName(row.groupId) : ctx.directory.userName(row.peerId);
}

/** A display name for a sender, "You" for the signed-in user. */
export function displayName(ctx: AppContext, userId: string): string {
  return userId === ctx.me.userID ? "You" : ctx.directory.userName(userId);
}

function preview(ctx: AppContext, row: ConversationRow): string {
  const last = row.last;
  if (!last) return "No messages yet";
  if (last.messageType === MessageType.notification && !last.isRevoked) {
    const notice = parseNotice(last.text);
    return notice ? describeNotice(notice, (id) => displayName(ctx, id)) : "Update";
  }
  const text = previewText(last.messageType, last.text, last.isRevoked);
  if (row.type === 2 || last.senderId === ctx.me.userID) return `${displayName(ctx, last.senderId)}: ${text}`;
  return text;
}

export function renderConversationList(
  root: HTMLElement,
  ctx: AppContext,
  activeId: string | null,
  showContacts: () => void,
): void {
  const rows = ctx.conversations.visible();
  if (rows.length === 0) {
    replace(
      root,
      h(
        "div",
        { class: "empty-state small" },
        h("div", { class: "empty-icon" }, icon("chat", 32)),
        h("h3", null, "No chats yet"),
        h("p", null, "Add a friend or create a group to start a conversation."),
        h("button", { class: "primary", onclick: showContacts }, "Find people"),
      ),
    );
    return;
  }
  const list = h("ul", { class: "conversation-list", role: "list", "aria-label": "Chats" });
  for (const row of rows) {
    const title = conversationTitle(ctx, row);
    const count = unread(row);
    list.append(
      h(
        "li",
        null,
        h(
          "button",
          {
            class: `conversation${row.id === activeId ? " active" : ""}${count > 0 ? " has-unread" : ""}`,
            "data-conversation": row.id,
            "aria-current": row.id === activeId ? "true" : null,
            onclick: () => ctx.openConversation(row.id),
          },
          avatar(row.type === 2 ? row.groupId : row.peerId, title, "md", row.type === 2),
          h(
            "span",
            { class: "conversation-main" },
            h(
              "span",
              { class: "conversation-top" },
              h("span", { class: "conversation-title" }, title),
              h("time", { class: "conversation-time" }, shortTime(row.time)),
            ),
            h(
              "span",
              { class: "conversation-bottom" },
              h("span", { class: "conversation-preview" }, preview(ctx, row)),
              row.muted &&
                h("span", { class: "row-icon", title: "Muted", "aria-label": "Muted" }, icon("muted", 14)),
              row.pinned &&
                h("span", { class: "row-icon", title: "Pinned", "aria-label": "Pinned" }, icon("pin", 14)),
              row.mentioned &&
                count > 0 &&
                h(
                  "span",
                  { class: "mention-mark", title: "You were mentioned", "aria-label": "You were mentioned" },
                  "@",
                ),
              count > 0 &&
                h(
                  "span",
                  { class: `badge${row.muted ? " muted" : ""}`, "aria-label": `${count} unread` },
                  count > 99 ? "99+" : count,
                ),
            ),
          ),
        ),
      ),
    );
  }
  replace(root, list);
}
