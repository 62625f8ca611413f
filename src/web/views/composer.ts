// The message box: grows with its text, Enter sends (Shift+Enter is a new line), tells the others
// when this user is typing (the SDK sends "typing" at most once per 5 s), attaches files from
// the picker or a paste, completes `@` with the conversation's members (and @all for a group's
// owner and admins), and shows the message being replied to.
import type { Message } from "edge-im/client";
import { filesOf } from "../attachments.ts";
import type { AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { icon } from "../icons.ts";
import {
  insertMention,
  matchCandidates,
  mentionQuery,
  mentionsIn,
  type MentionCandidate,
} from "../mentions.ts";
import { messageSnippet } from "./quote.ts";
import { displayName } from "./conversation-list.ts";

/** What a send carries besides its text. */
export interface ComposedExtras {
  mentions: string[];
  mentionAll: boolean;
  replyTo: Message | null;
}

export interface ComposerOptions {
  send(text: string, extras: ComposedExtras): void;
  attach(files: File[]): void;
  /** Who `@` can name now (members, and @all when allowed). */
  candidates(): MentionCandidate[];
}

/** Typing stops counting after this long without a keystroke. */
const TYPING_IDLE_MS = 4_000;
/** The box grows up to this many pixels, then scrolls. */
const MAX_HEIGHT_PX = 140;

/** The id of the `i`th option of the mention list (for aria-activedescendant). */
function mentionOptionId(i: number): string {
  return `mention-option-${i}`;
}

export class Composer {
  /** The reply chip, the `@` list and the form. */
  readonly element: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly replyChip = h("div", { class: "reply-chip", hidden: true });
  private readonly mentionList = h("ul", {
    class: "mention-list",
    id: "mention-list",
    role: "listbox",
    "aria-label": "Mention someone",
    hidden: true,
  });
  private replyTo: Message | null = null;
  private picked: MentionCandidate[] = [];
  private shown: MentionCandidate[] = [];
  private active = 0;
  private readonly options: ComposerOptions;
  private readonly button: HTMLButtonElement;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private typing = false;
  private readonly ctx: AppContext;
  private readonly conversationId: string;

  constructor(ctx: AppContext, conversationId: string, options: ComposerOptions) {
    this.ctx = ctx;
    this.conversationId = conversationId;
    this.options = options;
    const attach = options.attach;
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
      autocomplete: "off",
      "aria-autocomplete": "list",
      "aria-controls": "mention-list",
      "aria-expanded": "false",
      oninput: () => {
        this.changed();
        this.complete();
      },
      onblur: () => setTimeout(() => this.closeMentions(), 150),
      onpaste: (e: ClipboardEvent) => {
        const files = filesOf(e.clipboardData);
        if (files.length === 0) return;
        e.preventDefault();
        attach(files);
      },
      onkeydown: (e: KeyboardEvent) => {
        // An IME's Enter or arrow keys choose among its own candidates: never a mention, never a send.
        if (e.isComposing || e.keyCode === 229) return;
        if (this.mentionKey(e)) return;
        if (e.key === "Escape" && this.replyTo) return this.setReply(null);
        if (e.key === "Enter" && !e.shiftKey) {
          e.preventDefault();
          this.form.requestSubmit();
        }
      },
    });
    this.button = h(
      "button",
      { class: "primary send", type: "submit", "aria-label": "Send", disabled: true },
      "Send",
    );
    this.form = h(
      "form",
      {
        class: "composer",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const text = this.input.value.trim();
          if (!text) return;
          const mentions = mentionsIn(text, this.picked);
          options.send(text, { mentions: mentions.userIds, mentionAll: mentions.all, replyTo: this.replyTo });
          this.input.value = "";
          this.picked = [];
          this.setReply(null);
          this.closeMentions();
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
    this.element = h("div", { class: "composer-area" }, this.replyChip, this.mentionList, this.form);
  }

  /** Shows (or with null drops) the message the next send replies to. */
  setReply(message: Message | null): void {
    this.replyTo = message;
    this.replyChip.hidden = message === null;
    if (!message) return replace(this.replyChip);
    replace(
      this.replyChip,
      h(
        "div",
        { class: "reply-chip-text" },
        h("strong", null, `Replying to ${displayName(this.ctx, message.senderId)}`),
        h("span", null, messageSnippet(message)),
      ),
      h(
        "button",
        {
          class: "icon-button small",
          type: "button",
          "aria-label": "Cancel reply",
          title: "Cancel reply",
          onclick: () => this.setReply(null),
        },
        "×",
      ),
    );
    this.input.focus();
  }

  /** Offers the members matching the `@word` before the caret. */
  private complete(): void {
    const found = mentionQuery(this.input.value, this.input.selectionStart);
    this.shown = found ? matchCandidates(this.options.candidates(), found.query) : [];
    this.active = 0;
    this.renderMentions();
  }

  private renderMentions(): void {
    this.mentionList.hidden = this.shown.length === 0;
    this.input.setAttribute("aria-expanded", String(this.shown.length > 0));
    // The highlighted option is announced while the focus stays in the text (arrow keys move it).
    if (this.shown.length > 0) this.input.setAttribute("aria-activedescendant", mentionOptionId(this.active));
    else this.input.removeAttribute("aria-activedescendant");
    replace(
      this.mentionList,
      ...this.shown.map((c, i) =>
        h(
          "li",
          {
            class: `mention-option${i === this.active ? " active" : ""}`,
            id: mentionOptionId(i),
            role: "option",
            "aria-selected": String(i === this.active),
            // mousedown, not click: the textarea keeps its focus and caret.
            onmousedown: (e: MouseEvent) => {
              e.preventDefault();
              this.pick(c);
            },
          },
          h("span", { class: "mention-name" }, `@${c.name}`),
          c.userId === "" && h("span", { class: "mention-hint" }, "everyone here"),
        ),
      ),
    );
  }

  /** Arrow keys, Enter, Tab and Escape while the list is open; true when the key was used. */
  private mentionKey(e: KeyboardEvent): boolean {
    if (this.shown.length === 0) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const step = e.key === "ArrowDown" ? 1 : this.shown.length - 1;
      this.active = (this.active + step) % this.shown.length;
      this.renderMentions();
    } else if (e.key === "Enter" || e.key === "Tab") {
      const chosen = this.shown[this.active];
      if (chosen) this.pick(chosen);
    } else if (e.key === "Escape") {
      this.closeMentions();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  private pick(candidate: MentionCandidate): void {
    const caret = this.input.selectionStart;
    const found = mentionQuery(this.input.value, caret);
    if (!found) return this.closeMentions();
    const next = insertMention(this.input.value, found.start, caret, candidate.name);
    this.input.value = next.text;
    this.input.setSelectionRange(next.caret, next.caret);
    if (!this.picked.some((p) => p.userId === candidate.userId)) this.picked.push(candidate);
    this.closeMentions();
    this.changed();
    this.input.focus();
  }

  private closeMentions(): void {
    if (this.shown.length === 0 && this.mentionList.hidden) return;
    this.shown = [];
    this.renderMentions();
  }

  /** The candidates changed (a group's members arrived): an `@word` being typed is offered them. */
  refreshMentions(): void {
    if (document.activeElement === this.input) this.complete();
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
