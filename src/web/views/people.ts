// Rows and cards shared by the Contacts tab's sections.
import { h } from "../dom.ts";
import { avatar } from "./avatar.ts";

/** A row for a user or group; `detail` is a second line (omitted when empty). */
export function personRow(
  id: string,
  name: string,
  detail: string,
  actions: (HTMLElement | false)[],
  options: { group?: boolean; className?: string } = {},
): HTMLElement {
  return h(
    "li",
    { class: `person${options.className ? ` ${options.className}` : ""}`, "data-id": id },
    avatar(id, name, "sm", options.group),
    h(
      "span",
      { class: "person-text" },
      h("span", { class: "person-name" }, name),
      detail && h("small", { title: detail }, detail),
    ),
    h("span", { class: "person-actions" }, ...actions),
  );
}

/** A titled card; `body` is filled by the caller and re-rendered on its own. */
export function card(title: string, ...content: Node[]): { element: HTMLElement; title: HTMLElement } {
  const heading = h("h3", null, title);
  return {
    element: h("section", { class: "card", "aria-label": title }, heading, ...content),
    title: heading,
  };
}

/** A button that runs `run`, stays disabled meanwhile, and reports a failure. */
export function actionButton(
  label: string,
  run: () => Promise<unknown>,
  failed: (error: unknown) => void,
  primary = false,
): HTMLButtonElement {
  const button = h("button", { class: primary ? "primary small" : "small", type: "button" }, label);
  button.addEventListener("click", () => {
    button.disabled = true;
    run().catch((error: unknown) => {
      button.disabled = false;
      failed(error);
    });
  });
  return button;
}
