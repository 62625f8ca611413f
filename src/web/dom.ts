// A tiny DOM builder: `h("div", { class: "row", onclick }, child, …)` instead of a framework.

type Child = Node | string | number | null | undefined | false;
/** Any listener; its parameter is annotated where it is written (`(e: KeyboardEvent) => …`). */
type Handler = (event: never) => void;

/** Attributes (strings, numbers, booleans: true sets, false omits) and `on<event>` handlers. */
export type Props = { [key: string]: string | number | boolean | null | undefined | Handler };

/** Creates an element with attributes, event handlers (`onclick`, `oninput`, …) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(key.slice(2), value as EventListener);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all children of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  parent.textContent = "";
  append(parent, ...children);
}

/** The element with this id; throws when the page lacks it (a bug, not a state). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element as T;
}
