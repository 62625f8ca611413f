// Each message's action menu: a row of reactions to pick from, then reply, forward, edit (one's own
// text within the edit window), pin or unpin (when allowed), and the thread.
import type { Message } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h } from "../dom.ts";

/** The reactions offered in the menu (any single emoji is allowed by the server). */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"] as const;

/** What the timeline's controls do; the chat view implements them. */
export interface MessageActions {
  /** Opens this message's menu (closes any other), or closes it with null. */
  toggleMenu(message: Message | null): void;
  reply(message: Message): void;
  react(message: Message, emoji: string, remove: boolean): void;
  forward(message: Message): void;
  startEdit(message: Message): void;
  saveEdit(message: Message, text: string): void;
  cancelEdit(): void;
  pin(message: Message, unpin: boolean): void;
  thread(message: Message): void;
  history(message: Message): void;
  /** Scrolls to a message of this conversation (a quote's original, a pin). */
  show(seq: number): void;
}

export interface MenuState {
  open: boolean;
  canEdit: boolean;
  canPin: boolean;
  pinned: boolean;
  actions: MessageActions;
}

/** True when this user has reacted to `message` with `emoji`. */
export function reactedWith(ctx: AppContext, message: Message, emoji: string): boolean {
  return ctx.ownReactions.has(message, emoji, ctx.me.userID);
}

/** Moves the focus among a menu's items: ArrowUp/ArrowDown (wrapping), Home and End. */
function moveFocus(menu: HTMLElement, key: string): boolean {
  const items = [...menu.querySelectorAll<HTMLElement>(".menu-item")];
  if (items.length === 0) return false;
  const at = items.findIndex((i) => i === document.activeElement);
  const next =
    key === "ArrowDown"
      ? (at + 1) % items.length
      : key === "ArrowUp"
        ? (at - 1 + items.length) % items.length
        : key === "Home"
          ? 0
          : key === "End"
            ? items.length - 1
            : -1;
  if (next < 0) return false;
  items[next]!.focus();
  return true;
}

export function renderMessageMenu(ctx: AppContext, m: Message, state: MenuState): HTMLElement {
  const a = state.actions;
  /**
   * Closes the menu and gives the focus back to the message's toggle (the timeline re-renders on
   * close, so the toggle is found again by the message's seq), so keyboard users keep their place.
   */
  const close = (from: Element) => {
    const timeline = from.closest("[data-seq]")?.parentElement ?? null;
    a.toggleMenu(null);
    timeline?.querySelector<HTMLElement>(`[data-seq="${m.seq}"] .msg-more`)?.focus();
  };
  /** A menu item: closes the menu and runs its action (which may move the focus on). */
  const item = (label: string, run: () => void, props: Record<string, string> = {}) => {
    const button: HTMLElement = h(
      "button",
      {
        class: "menu-item",
        type: "button",
        role: "menuitem",
        ...props,
        onclick: () => {
          close(button);
          run();
        },
      },
      label,
    );
    return button;
  };
  const toggle = h(
    "button",
    {
      class: `msg-more${state.open ? " open" : ""}`,
      type: "button",
      title: "Message actions",
      "aria-label": "Message actions",
      "aria-haspopup": "menu",
      "aria-expanded": String(state.open),
      onclick: () => a.toggleMenu(state.open ? null : m),
    },
    "⋯",
  );
  if (!state.open) return h("div", { class: "msg-menu-anchor" }, toggle);
  const menu = h(
    "div",
    {
      class: "msg-menu",
      role: "menu",
      "aria-label": "Message actions",
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === "Escape") {
          e.preventDefault();
          close(menu);
        } else if (moveFocus(menu, e.key)) e.preventDefault();
      },
    },
    h(
      "div",
      { class: "react-row", role: "group", "aria-label": "React" },
      ...QUICK_REACTIONS.map((emoji) => {
        const mine = reactedWith(ctx, m, emoji);
        return item(emoji, () => a.react(m, emoji, mine), {
          class: `menu-item react-option${mine ? " on" : ""}`,
          "aria-label": mine ? `Remove reaction ${emoji}` : `React with ${emoji}`,
          title: mine ? `Remove ${emoji}` : `React with ${emoji}`,
        });
      }),
    ),
    item("Reply", () => a.reply(m)),
    item("Forward…", () => a.forward(m)),
    state.canEdit && item("Edit", () => a.startEdit(m)),
    state.canPin && item(state.pinned ? "Unpin" : "Pin", () => a.pin(m, state.pinned)),
    m.replyCount > 0 && item("Open thread", () => a.thread(m)),
  );
  queueMicrotask(() => {
    // Near the bottom of the timeline the menu opens upwards, so that it is not cut off.
    const area = menu.closest(".timeline-scroll")?.getBoundingClientRect();
    if (area && menu.getBoundingClientRect().bottom > area.bottom) menu.classList.add("up");
    // Opened: the first item takes the focus; re-rendered while open: the focus stays where it was.
    if (!menu.contains(document.activeElement)) menu.querySelector<HTMLElement>(".menu-item")?.focus();
  });
  return h("div", { class: "msg-menu-anchor" }, toggle, menu);
}
