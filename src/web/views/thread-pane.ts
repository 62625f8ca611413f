// A message's thread beside the timeline: the message and the replies quoting it, oldest first,
// paged from the server (client.thread), growing as replies arrive; "Reply" answers the root.
import { MessageType, type Message } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { clockTime } from "../format.ts";
import { displayName } from "./conversation-list.ts";
import { messageSnippet } from "./quote.ts";

/** Replies per page. */
const THREAD_PAGE = 50;

export class ThreadPane {
  readonly element: HTMLElement;
  readonly rootId: string;
  private root: Message;
  private readonly replies = new Map<string, Message>();
  private hasMore = false;
  /**
   * The last seq of the pages read from the server: the next page starts after it. Replies that
   * arrive live can be newer than replies not paged in yet, so they never move it.
   */
  private pagedTo = 0;
  private loading = false;
  private readonly list = h("ol", { class: "thread-list", "aria-label": "Replies", "aria-live": "polite" });
  private readonly ctx: AppContext;
  private readonly reply: (root: Message) => void;

  constructor(ctx: AppContext, root: Message, handlers: { close(): void; reply(root: Message): void }) {
    this.ctx = ctx;
    this.root = root;
    this.rootId = root.serverMsgId;
    this.reply = handlers.reply;
    this.element = h(
      "aside",
      { class: "thread-pane", "aria-label": "Thread" },
      h(
        "header",
        { class: "thread-header" },
        h("h3", null, "Thread"),
        h(
          "button",
          {
            class: "icon-button",
            type: "button",
            "aria-label": "Close thread",
            onclick: () => handlers.close(),
          },
          "×",
        ),
      ),
      this.list,
    );
    this.render();
  }

  /** The first page (and each next one while the server has more). */
  async load(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    try {
      const page = await this.ctx.client.thread(this.root.conversationId, this.rootId, {
        afterSeq: this.pagedTo,
        limit: THREAD_PAGE,
      });
      if (page.root) this.root = page.root;
      for (const m of page.replies) {
        this.replies.set(m.serverMsgId, m);
        this.pagedTo = Math.max(this.pagedTo, m.seq);
      }
      this.hasMore = page.hasMore;
    } catch (error) {
      this.ctx.toast(`Could not load the thread: ${errorText(error)}`);
    } finally {
      this.loading = false;
    }
    this.render();
  }

  /** New or changed messages of the conversation: replies to this root join the list. */
  onMessages(messages: readonly Message[]): void {
    let changed = false;
    for (const m of messages) {
      if (m.serverMsgId === this.rootId) this.root = m;
      else if (m.replyTo?.serverMsgId === this.rootId || this.replies.has(m.serverMsgId))
        this.replies.set(m.serverMsgId, m);
      else continue;
      changed = true;
    }
    if (changed) this.render();
  }

  private item(m: Message, root: boolean): HTMLElement {
    return h(
      "li",
      { class: `thread-item${root ? " root" : ""}`, "data-seq": m.seq },
      h(
        "div",
        { class: "thread-meta" },
        h("strong", null, displayName(this.ctx, m.senderId)),
        h("time", null, clockTime(m.serverTime || m.sendTime)),
        m.editCount > 0 && h("span", { class: "muted" }, "edited"),
      ),
      h(
        "span",
        { class: "text" },
        m.isRevoked
          ? "This message was revoked"
          : m.messageType === MessageType.text
            ? m.text
            : messageSnippet(m),
      ),
    );
  }

  private render(): void {
    const replies = [...this.replies.values()].sort((a, b) => a.seq - b.seq);
    replace(
      this.list,
      this.item(this.root, true),
      h(
        "li",
        { class: "thread-count" },
        replies.length === 1 ? "1 reply" : `${replies.length}${this.hasMore ? "+" : ""} replies`,
      ),
      ...replies.map((m) => this.item(m, false)),
      this.hasMore &&
        h(
          "li",
          null,
          h("button", { class: "small ghost", type: "button", onclick: () => void this.load() }, "Load more"),
        ),
      h(
        "li",
        { class: "thread-actions" },
        // A revoked root takes no replies (the server refuses quoting it).
        !this.root.isRevoked &&
          h(
            "button",
            { class: "small primary", type: "button", onclick: () => this.reply(this.root) },
            "Reply",
          ),
      ),
    );
  }
}
