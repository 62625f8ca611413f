// The message search box above the chat list: a query goes to `client.search`, the hits replace
// the list (conversation, sender, time, the excerpt with its matched words marked), and a click
// opens the conversation at that message. Escape or clearing the box brings the list back.
import type { SearchHit } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { shortTime } from "../format.ts";
import { displayName } from "./conversation-list.ts";

/** The conversation's name as the list shows it, from its id (the hit may be of a chat not loaded). */
function conversationName(ctx: AppContext, conversationId: string): string {
  const [kind, first = "", second = ""] = conversationId.split("_");
  if (kind === "group") return ctx.directory.groupName(first);
  return ctx.directory.userName(first === ctx.me.userID ? second : first);
}

/** The excerpt as text nodes, the matched words in <mark>: nothing from the server is parsed as HTML. */
function markedSnippet(hit: SearchHit): HTMLElement {
  const out = h("span", { class: "search-snippet" });
  let at = 0;
  for (const [start, end] of hit.highlights) {
    if (start < at || end > hit.snippet.length) continue;
    out.append(hit.snippet.slice(at, start), h("mark", null, hit.snippet.slice(start, end)));
    at = end;
  }
  out.append(hit.snippet.slice(at));
  return out;
}

export class SearchPanel {
  readonly form: HTMLFormElement;
  /** The hits, shown instead of the chat list while a search is on. */
  readonly results = h("div", { class: "search-results", hidden: true });
  private readonly input = h("input", {
    type: "search",
    name: "q",
    placeholder: "Search messages",
    "aria-label": "Search messages",
    maxlength: 200,
    autocomplete: "off",
  });
  private readonly ctx: AppContext;
  private readonly changed: () => void;
  private hits: SearchHit[] = [];
  private nextCursor: string | null = null;
  private query = "";
  /** Answers to an older query are dropped. */
  private generation = 0;

  constructor(ctx: AppContext, changed: () => void) {
    this.ctx = ctx;
    this.changed = changed;
    this.form = h(
      "form",
      {
        class: "search-box",
        role: "search",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          void this.search(this.input.value.trim());
        },
      },
      this.input,
    );
    this.input.addEventListener("keydown", (e: KeyboardEvent) => e.key === "Escape" && this.clear());
    this.input.addEventListener("input", () => this.input.value === "" && this.clear());
  }

  /** Whether hits are shown (the chat list is hidden meanwhile). */
  get active(): boolean {
    return this.query !== "";
  }

  clear(): void {
    this.input.value = "";
    this.query = "";
    this.hits = [];
    this.nextCursor = null;
    this.generation++;
    this.results.hidden = true;
    replace(this.results);
    this.changed();
  }

  private async search(query: string, more = false): Promise<void> {
    if (query === "") return this.clear();
    const generation = more ? this.generation : ++this.generation;
    if (!more) {
      this.query = query;
      this.hits = [];
      this.nextCursor = null;
      this.renderStatus("Searching…");
      this.changed();
    }
    try {
      const page = await this.ctx.client.search(
        query,
        more && this.nextCursor ? { cursor: this.nextCursor } : {},
      );
      if (generation !== this.generation) return;
      this.hits.push(...page.hits);
      this.nextCursor = page.nextCursor;
      for (const hit of page.hits) this.ctx.directory.want(hit.senderID);
      this.render();
    } catch (error) {
      if (generation === this.generation) this.renderStatus(errorText(error));
    }
  }

  private renderStatus(text: string): void {
    this.results.hidden = false;
    replace(this.results, h("p", { class: "search-status", role: "status" }, text));
  }

  /** Re-renders the hits (names may have arrived since). */
  render(): void {
    if (!this.active) return;
    this.results.hidden = false;
    const list = h("ul", { class: "conversation-list", role: "list", "aria-label": "Search results" });
    for (const hit of this.hits) {
      list.append(
        h(
          "li",
          null,
          h(
            "button",
            {
              class: "conversation search-hit",
              "data-conversation": hit.conversationID,
              "data-seq": hit.seq,
              onclick: () => this.ctx.openMessage(hit.conversationID, hit.seq),
            },
            h(
              "span",
              { class: "conversation-main" },
              h(
                "span",
                { class: "conversation-top" },
                h("span", { class: "conversation-title" }, conversationName(this.ctx, hit.conversationID)),
                h("time", { class: "conversation-time" }, shortTime(hit.serverTime)),
              ),
              h(
                "span",
                { class: "conversation-bottom" },
                h("span", { class: "search-sender" }, `${displayName(this.ctx, hit.senderID)}: `),
                markedSnippet(hit),
              ),
            ),
          ),
        ),
      );
    }
    const empty = this.hits.length === 0 && this.nextCursor === null;
    replace(
      this.results,
      empty ? h("p", { class: "search-status", role: "status" }, `No messages with “${this.query}”`) : list,
      this.nextCursor !== null &&
        h(
          "button",
          {
            class: "small ghost search-more",
            type: "button",
            onclick: () => void this.search(this.query, true),
          },
          this.hits.length === 0 ? "Search further back" : "More results",
        ),
    );
  }
}
