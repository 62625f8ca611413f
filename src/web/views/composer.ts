// The message box: grows with its text, Enter sends (Shift+Enter is a new line), tells the others
// when this user is typing (the SDK sends "typing" at most once per 5 s), and attaches files from
// the picker or a paste.
import { filesOf } from "../attachments.ts";
import type { AppContext } from "../context.ts";
import { h } from "../dom.ts";
import { icon } from "../icons.ts";

/** Typing stops counting after this long without a keystroke. */
const TYPING_IDLE_MS = 4_000;
/** The box grows up to this many pixels, then scrolls. */
const MAX_HEIGHT_PX = 140;

export class Composer {
  readonly element: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly button: HTMLButtonElement;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private typing = false;
  private readonly ctx: AppContext;
  private readonly conversationId: string;

  constructor(
    ctx: AppContext,
    conversationId: string,
    send: (text: string) => void,
    attach: (files: File[]) => void,
  ) {
    this.ctx = ctx;
    this.conversationId = conversationId;
    const picker = h("input", {
      type: "file",
      multiple: true,
      hidden: true,
      "aria-label": "Attach files",
      onchange: () => {
        attach([...(picker.files ?? [])]);
        picker.value = "";
      },
    });
    const attachButton = h(
      "button",
      {
        class: "attach",
        type: "button",
        title: "Attach a photo or file",
        "aria-label": "Attach",
        onclick: () => picker.click(),
      },
      icon("attach"),
    );
    this.input = h("textarea", {
      rows: 1,
      placeholder: "Write a message…",
      "aria-label": "Message",
      maxlength: 4000,
      oninput: () => this.changed(),
      onpaste: (e: ClipboardEvent) => {
        const files = filesOf(e.clipboardData);
        if (files.length === 0) return;
        e.preventDefault();
        attach(files);
      },
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.element.requestSubmit();
        }
      },
    });
    this.button = h(
      "button",
      { class: "primary send", type: "submit", "aria-label": "Send", disabled: true },
      "Send",
    );
    this.element = h(
      "form",
      {
        class: "composer",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const text = this.input.value.trim();
          if (!text) return;
          send(text);
          this.input.value = "";
          this.changed();
          this.stopTyping();
          this.input.focus();
        },
      },
      picker,
      attachButton,
      this.input,
      this.button,
    );
  }

  focus(): void {
    if (window.matchMedia("(pointer: fine)").matches) this.input.focus();
  }

  dispose(): void {
    this.stopTyping();
  }

  private changed(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
    const hasText = this.input.value.trim().length > 0;
    this.button.disabled = !hasText;
    if (!hasText) return this.stopTyping();
    this.ctx.client.setTyping(this.conversationId, true);
    this.typing = true;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    clearTimeout(this.idle);
    if (!this.typing) return;
    this.typing = false;
    this.ctx.client.setTyping(this.conversationId, false);
  }
}
