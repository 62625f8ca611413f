// The bar under a chat's header while messages are pinned: one pin at a time, newest first; a click
// shows that message and moves the bar to the next pin; those allowed to can unpin from it.
import type { Message, PinnedMessage } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { icon } from "../icons.ts";
import { displayName } from "./conversation-list.ts";
import { messageSnippet } from "./quote.ts";

export interface PinnedBarState {
  pins: readonly PinnedMessage[];
  /** Which pin the bar shows (wraps around). */
  index: number;
  /** The pinned message when the view has it loaded. */
  message(pin: PinnedMessage): Message | undefined;
  canUnpin: boolean;
  show(pin: PinnedMessage, next: number): void;
  unpin(pin: PinnedMessage): void;
}

export function renderPinnedBar(element: HTMLElement, ctx: AppContext, state: PinnedBarState): void {
  element.hidden = state.pins.length === 0;
  if (state.pins.length === 0) return replace(element);
  const index = state.index % state.pins.length;
  const pin = state.pins[index]!;
  const m = state.message(pin);
  const text = m ? messageSnippet(m) : `Message #${pin.seq}`;
  const position = state.pins.length > 1 ? ` (${index + 1} of ${state.pins.length})` : "";
  replace(
    element,
    h(
      "button",
      {
        class: "pinned-show",
        type: "button",
        title: `Pinned by ${displayName(ctx, pin.pinnedBy)}: show it`,
        "aria-label": `Pinned message${position}: ${text}`,
        onclick: () => state.show(pin, (index + 1) % state.pins.length),
      },
      icon("pin", 16),
      h(
        "span",
        { class: "pinned-body" },
        h("strong", null, `Pinned message${position}`),
        h("span", { class: "pinned-text" }, text),
      ),
    ),
    state.canUnpin &&
      h(
        "button",
        {
          class: "icon-button small",
          type: "button",
          title: "Unpin",
          "aria-label": `Unpin: ${text}`,
          onclick: () => state.unpin(pin),
        },
        "×",
      ),
  );
}
