// The chat's header: back (narrow windows), avatar, name, a line for typing / presence / group
// details, and the group-ID, mute and pin buttons.
import type { PresenceEvent } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import type { ConversationRow } from "../conversations.ts";
import { h, replace } from "../dom.ts";
import { icon, type IconName } from "../icons.ts";
import { avatar } from "./avatar.ts";
import { conversationTitle, displayName } from "./conversation-list.ts";

export interface HeaderState {
  /** Who is typing now (not the signed-in user). */
  typing: readonly string[];
  presence: PresenceEvent | null;
  /** Asks for a re-render after a pin or mute changed. */
  changed(): void;
}

function subtitle(ctx: AppContext, row: ConversationRow, state: HeaderState): string {
  const typing = state.typing.map((id) => displayName(ctx, id));
  if (typing.length === 1) return row.type === 2 ? `${typing[0]} is typing…` : "typing…";
  if (typing.length > 1) return `${typing.length} people are typing…`;
  if (row.type === 2) {
    const group = ctx.directory.group(row.groupId);
    return group ? `${group.memberCount} members · ID ${group.groupID}` : `ID ${row.groupId}`;
  }
  return state.presence?.online ? "online" : "";
}

function toggle(
  ctx: AppContext,
  row: ConversationRow,
  flag: "pinned" | "muted",
  state: HeaderState,
): HTMLButtonElement {
  const on = row[flag];
  const labels = flag === "pinned" ? ["Unpin chat", "Pin chat"] : ["Unmute chat", "Mute chat"];
  // The bell shows what a click does: a plain bell mutes, a struck-out one (muted now) unmutes.
  const iconName: IconName = flag === "pinned" ? "pin" : on ? "muted" : "bell";
  const click = () => {
    const call =
      flag === "pinned"
        ? ctx.client.conversations.pin(row.id, !on)
        : ctx.client.conversations.mute(row.id, !on);
    call.then(
      (c) => {
        row.pinned = c.isPinned;
        row.muted = c.isMuted;
        state.changed();
      },
      (error: unknown) => ctx.toast(errorText(error)),
    );
  };
  const label = on ? labels[0]! : labels[1]!;
  return h(
    "button",
    {
      class: `icon-button${on ? " on" : ""}`,
      title: label,
      "aria-label": label,
      "aria-pressed": String(on),
      onclick: click,
    },
    icon(iconName),
  );
}

export function renderChatHeader(
  element: HTMLElement,
  ctx: AppContext,
  row: ConversationRow,
  state: HeaderState,
): void {
  const group = row.type === 2;
  const title = conversationTitle(ctx, row);
  const copyId = () =>
    navigator.clipboard.writeText(row.groupId).then(
      () => ctx.toast("Group ID copied"),
      () => ctx.toast(`Group ID: ${row.groupId}`),
    );
  replace(
    element,
    h(
      "button",
      { class: "icon-button back", "aria-label": "Back to chats", onclick: () => ctx.closeConversation() },
      icon("back", 26),
    ),
    avatar(group ? row.groupId : row.peerId, title, "md", group),
    h(
      "div",
      { class: "chat-title" },
      h("h2", null, title),
      h(
        "p",
        { class: `chat-subtitle${state.typing.length > 0 ? " typing" : ""}`, "aria-live": "polite" },
        subtitle(ctx, row, state),
      ),
    ),
    group &&
      h(
        "button",
        {
          class: "icon-button",
          title: "Copy the group ID (others join with it)",
          "aria-label": "Copy group ID",
          onclick: () => void copyId(),
        },
        icon("copy"),
      ),
    toggle(ctx, row, "muted", state),
    toggle(ctx, row, "pinned", state),
  );
}
