// An edited message's earlier versions, oldest first, each with when it was replaced, and the
// current text last.
import type { Message } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { clockTime, dayLabel } from "../format.ts";
import { openDialog } from "./dialog.ts";

function when(time: number): string {
  return `${dayLabel(time)} ${clockTime(time)}`;
}

export function openEditHistory(ctx: AppContext, message: Message): void {
  const list = h(
    "ol",
    { class: "versions", "aria-label": "Versions", "aria-busy": "true" },
    h("li", null, "Loading…"),
  );
  openDialog("Edit history", () => [list]);
  ctx.client.editHistory(message.conversationId, message.serverMsgId).then(
    (versions) => {
      list.removeAttribute("aria-busy");
      replace(
        list,
        ...versions.map((v) =>
          h(
            "li",
            { class: "version" },
            h("span", { class: "version-text" }, v.text),
            h("small", null, `replaced ${when(v.replacedTime)}`),
          ),
        ),
        h(
          "li",
          { class: "version current" },
          h("span", { class: "version-text" }, message.text),
          h("small", null, `current, since ${when(message.editedTime)}`),
        ),
      );
    },
    (error: unknown) => replace(list, h("li", null, `Could not load the history: ${errorText(error)}`)),
  );
}
