// A modal dialog on the native <dialog> element (focus kept inside, Escape closes, announced as a
// dialog): built, shown, and removed from the page when it closes.
import { h } from "../dom.ts";

export function openDialog(
  title: string,
  build: (close: () => void) => (Node | string | null | false)[],
): HTMLDialogElement {
  const heading = `dialog-title-${crypto.randomUUID()}`;
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": heading });
  const close = () => dialog.close();
  dialog.append(
    h(
      "header",
      { class: "dialog-header" },
      h("h2", { id: heading }, title),
      h(
        "button",
        { class: "icon-button", type: "button", "aria-label": "Close", title: "Close", onclick: close },
        "×",
      ),
    ),
    ...build(close).filter((child): child is Node | string => child !== null && child !== false),
  );
  dialog.addEventListener("close", () => dialog.remove());
  // A click on the backdrop (the dialog itself, outside its content box) closes it.
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
