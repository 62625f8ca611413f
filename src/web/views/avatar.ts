// Round avatars with initials on a colour derived from the id (no images needed).
import { h } from "../dom.ts";
import { colour, initials } from "../format.ts";

export function avatar(
  id: string,
  name: string,
  size: "sm" | "md" | "lg" = "md",
  group = false,
): HTMLElement {
  return h(
    "span",
    {
      class: `avatar ${size}${group ? " group" : ""}`,
      style: `background: ${colour(id)}`,
      "aria-hidden": "true",
    },
    initials(name),
  );
}
