// A message's reaction chips: each emoji with its count, who reacted in its title (hover) and
// label, pressed when it is one of this user's; a click adds or takes back this user's reaction.
import type { Message, Reaction } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h } from "../dom.ts";
import { displayName } from "./conversation-list.ts";
import type { MessageActions } from "./message-menu.ts";

/** Names listed in a chip's title before "and N more". */
const NAMES_SHOWN = 10;

/** "Alice, Bob and 3 more": `userIds` lists the first reactors only, `count` is exact. */
export function reactorsText(ctx: AppContext, reaction: Reaction): string {
  const names = reaction.userIds.slice(0, NAMES_SHOWN).map((id) => displayName(ctx, id));
  const more = reaction.count - names.length;
  if (more <= 0)
    return names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : (names[0] ?? "");
  return `${names.join(", ")} and ${more} more`;
}

export function renderReactions(ctx: AppContext, m: Message, actions: MessageActions): HTMLElement | null {
  const shown = m.reactions.filter((r) => r.count > 0);
  if (shown.length === 0) return null;
  return h(
    "div",
    { class: "reactions", role: "group", "aria-label": "Reactions" },
    ...shown.map((r) => {
      const mine = ctx.ownReactions.has(m, r.emoji, ctx.me.userID);
      const who = reactorsText(ctx, r);
      return h(
        "button",
        {
          class: `reaction-chip${mine ? " mine" : ""}`,
          type: "button",
          title: who,
          "aria-pressed": String(mine),
          "aria-label": `${r.emoji} ${r.count}: ${who}`,
          "data-emoji": r.emoji,
          onclick: () => actions.react(m, r.emoji, mine),
        },
        h("span", { class: "reaction-emoji" }, r.emoji),
        h("span", { class: "reaction-count" }, r.count),
      );
    }),
  );
}
