// Renders a chat's timeline: day separators, notices, bubbles with time and read ticks, photos and
// file links, revoked messages, sends still in flight, and the revoke action on one's own recent
// messages. Rich messages: the quote of a reply, "forwarded", mentions of the reader, the "edited"
// mark, reaction chips, the thread link, editing in place, and each message's action menu (reply,
// react, forward, edit, pin) with a swipe to reply on touch screens.
import { MessageType, readFileContent, readImageContent, type Message } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { clockTime, dayLabel, fileSize, sameDay } from "../format.ts";
import { describeNotice, parseNotice } from "../notices.ts";
import { icon } from "../icons.ts";
import { displayName } from "./conversation-list.ts";
import type { ComposedExtras } from "./composer.ts";
import { renderMessageMenu, type MessageActions } from "./message-menu.ts";
import { renderQuote } from "./quote.ts";
import { renderReactions } from "./reactions.ts";

/** The server lets a sender revoke within 2 minutes (README, "Revoke"). */
export const REVOKE_WINDOW_MS = 120_000;
/** A horizontal swipe this long (and mostly horizontal) on a message replies to it. */
const SWIPE_REPLY_PX = 60;

/** A send not yet acked (or failed); it becomes a Message when its ack arrives. */
export interface PendingSend {
  clientMsgId: string;
  text: string;
  time: number;
  failed: boolean;
  /** An attachment: uploaded again on retry. */
  file?: File;
  /** A reply's quoted message and the mentions: sent again on retry. */
  extras?: ComposedExtras;
}

export interface TimelineState {
  messages: readonly Message[];
  pending: readonly PendingSend[];
  /** Highest seq the other side (anyone, in a group) has read. */
  peerRead: number;
  group: boolean;
  edge: "loading" | "start" | "more";
  revoke(message: Message): void;
  retry(send: PendingSend): void;
  /** Rich messages: the open menu, the message being edited, what is pinned, and the actions. */
  menuSeq: number | null;
  /** The message being edited and its form (made once, kept across renders with what was typed). */
  editing: { seq: number; form: HTMLElement } | null;
  pinned: ReadonlySet<string>;
  canPin: boolean;
  actions: MessageActions;
}

type Tick = "sending" | "failed" | "sent" | "read";

function tick(kind: Tick): HTMLElement {
  const labels: Record<Tick, [string, string]> = {
    sending: ["Sending", "◷"],
    failed: ["Not sent", "!"],
    sent: ["Sent", "✓"],
    read: ["Read", "✓✓"],
  };
  const [label, glyph] = labels[kind];
  return h("span", { class: `tick ${kind}`, "aria-label": label, title: label }, glyph);
}

function messageTime(m: Message): number {
  return m.serverTime || m.sendTime;
}

/**
 * Edit is offered on one's own text messages. The edit window is the server's setting
 * (MESSAGE_EDIT_WINDOW_SECONDS), which the page does not know: past it the server refuses, and
 * the page says so.
 */
export function canEdit(ctx: AppContext, m: Message): boolean {
  return m.senderId === ctx.me.userID && !m.isRevoked && m.messageType === MessageType.text;
}

/** This message names the reader (or everyone). */
export function mentionsMe(ctx: AppContext, m: Message): boolean {
  return m.senderId !== ctx.me.userID && (m.mentionAll || m.mentions.includes(ctx.me.userID));
}

/** The bubble as a form: the text in a box, Save and Cancel (Enter saves, Escape cancels). */
export function editForm(m: Message, actions: MessageActions): HTMLElement {
  const box = h("textarea", { class: "edit-box", "aria-label": "Edit message", rows: 2, maxlength: 4000 });
  box.value = m.text;
  const form = h(
    "form",
    {
      class: "edit-form",
      onsubmit: (e: SubmitEvent) => {
        e.preventDefault();
        const text = box.value.trim();
        if (text && text !== m.text) actions.saveEdit(m, text);
        else actions.cancelEdit();
      },
    },
    box,
    h(
      "div",
      { class: "edit-buttons" },
      h("button", { class: "small ghost", type: "button", onclick: () => actions.cancelEdit() }, "Cancel"),
      h("button", { class: "small primary", type: "submit" }, "Save"),
    ),
  );
  box.addEventListener("keydown", (e: KeyboardEvent) => {
    if (e.key === "Escape") actions.cancelEdit();
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  queueMicrotask(() => {
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });
  return form;
}

/** A swipe to the right on a message (touch screens) replies to it. */
function swipeToReply(item: HTMLElement, reply: () => void): void {
  let start: { x: number; y: number } | null = null;
  item.addEventListener("touchstart", (e: TouchEvent) => {
    const t = e.touches[0];
    start = t && e.touches.length === 1 ? { x: t.clientX, y: t.clientY } : null;
  });
  item.addEventListener("touchend", (e: TouchEvent) => {
    const t = e.changedTouches[0];
    if (!start || !t) return;
    const dx = t.clientX - start.x;
    const dy = Math.abs(t.clientY - start.y);
    start = null;
    if (dx > SWIPE_REPLY_PX && dy < dx / 2) reply();
  });
}

export function canRevoke(ctx: AppContext, m: Message, now = Date.now()): boolean {
  return (
    m.senderId === ctx.me.userID &&
    !m.isRevoked &&
    m.messageType !== MessageType.notification &&
    now - messageTime(m) < REVOKE_WINDOW_MS
  );
}

function bubbleText(m: Message): string {
  if (m.messageType === MessageType.text) return m.text;
  return `[${m.messageType === MessageType.image ? "Photo" : "Attachment"}]`;
}

/** A photo (opens full size in a new tab) or a file link with its name and size; else the text. */
function bubbleBody(m: Message): HTMLElement {
  const image = m.messageType === MessageType.image ? readImageContent(m.text) : null;
  if (image) {
    const sized = image.width > 0 && image.height > 0;
    return h(
      "a",
      { class: "photo", href: image.url, target: "_blank", rel: "noopener" },
      h("img", {
        src: image.url,
        alt: "Photo",
        loading: "lazy",
        width: sized && image.width,
        height: sized && image.height,
      }),
    );
  }
  const file = m.messageType === MessageType.file ? readFileContent(m.text) : null;
  if (file) {
    const name = file.fileName || "File";
    return h(
      "a",
      { class: "file-link", href: file.url, download: name, target: "_blank", rel: "noopener" },
      icon("file", 22),
      h("span", { class: "file-name" }, name),
      h("span", { class: "file-size" }, fileSize(file.size)),
    );
  }
  return h("span", { class: "text" }, bubbleText(m));
}

export function renderTimeline(list: HTMLElement, ctx: AppContext, state: TimelineState): void {
  const items: HTMLElement[] = [];
  if (state.edge === "loading") items.push(h("li", { class: "timeline-edge" }, "Loading earlier messages…"));
  else if (state.edge === "start" && state.messages.length > 0)
    items.push(h("li", { class: "timeline-edge" }, "This is the beginning of the conversation"));

  const now = Date.now();
  let previous: { time: number; sender: string } | null = null;
  const day = (time: number) => {
    if (!previous || !sameDay(previous.time, time)) {
      items.push(h("li", { class: "day" }, h("span", null, dayLabel(time, now))));
      previous = null;
    }
  };

  for (const m of state.messages) {
    const time = messageTime(m);
    day(time);
    if (m.messageType === MessageType.notification) {
      const notice = parseNotice(m.text);
      const text = notice ? describeNotice(notice, (id) => displayName(ctx, id)) : "Update";
      items.push(h("li", { class: "notice", "data-seq": m.seq }, h("span", null, text)));
      previous = { time, sender: "" };
      continue;
    }
    const mine = m.senderId === ctx.me.userID;
    const firstOfRun: boolean = previous?.sender !== m.senderId;
    const status: Tick = m.status === 3 || m.seq <= state.peerRead || m.readCount > 0 ? "read" : "sent";
    const editing = state.editing?.seq === m.seq && !m.isRevoked ? state.editing.form : null;
    const body = m.isRevoked
      ? h("span", { class: "text" }, mine ? "You revoked this message" : "This message was revoked")
      : (editing ?? bubbleBody(m));
    const actions = state.actions;
    const pinned = state.pinned.has(m.serverMsgId);
    const classes = [
      "msg",
      mine ? "mine" : "theirs",
      firstOfRun && "first",
      m.isRevoked && "revoked",
      mentionsMe(ctx, m) && "mentioned",
      pinned && "pinned",
    ];
    const item = h(
      "li",
      { class: classes.filter(Boolean).join(" "), "data-seq": m.seq, "data-id": m.serverMsgId },
      state.group && !mine && firstOfRun && h("span", { class: "sender" }, displayName(ctx, m.senderId)),
      h(
        "div",
        { class: "msg-stack" },
        h(
          "div",
          {
            class: body.classList.contains("photo") ? "bubble media" : editing ? "bubble editing" : "bubble",
          },
          !m.isRevoked &&
            m.forwardedFrom &&
            h("span", { class: "forwarded" }, `Forwarded from ${displayName(ctx, m.forwardedFrom.senderId)}`),
          !m.isRevoked && m.replyTo && renderQuote(ctx, m.replyTo, (seq) => actions.show(seq)),
          body,
          h(
            "span",
            { class: "meta" },
            pinned &&
              h("span", { class: "pin-mark", title: "Pinned", "aria-label": "Pinned" }, icon("pin", 12)),
            !m.isRevoked &&
              m.editCount > 0 &&
              h(
                "button",
                {
                  class: "edited-mark",
                  type: "button",
                  title: "Edited: show earlier versions",
                  "aria-label": "Edited: show earlier versions",
                  onclick: () => actions.history(m),
                },
                "edited",
              ),
            h("time", null, clockTime(time)),
            mine && !m.isRevoked && tick(status),
          ),
        ),
        !m.isRevoked && renderReactions(ctx, m, actions),
        !m.isRevoked &&
          m.replyCount > 0 &&
          h(
            "button",
            { class: "thread-link", type: "button", onclick: () => actions.thread(m) },
            m.replyCount === 1 ? "1 reply" : `${m.replyCount} replies`,
          ),
      ),
      !m.isRevoked &&
        !editing &&
        renderMessageMenu(ctx, m, {
          open: state.menuSeq === m.seq,
          canEdit: canEdit(ctx, m),
          canPin: state.canPin,
          pinned,
          actions,
        }),
      canRevoke(ctx, m, now) &&
        h("button", { class: "msg-action", type: "button", onclick: () => state.revoke(m) }, "Revoke"),
    );
    if (!m.isRevoked) swipeToReply(item, () => actions.reply(m));
    items.push(item);
    previous = { time, sender: m.senderId };
  }

  for (const send of state.pending) {
    day(send.time);
    items.push(
      h(
        "li",
        { class: `msg mine pending${previous?.sender === ctx.me.userID ? "" : " first"}` },
        h(
          "div",
          { class: "bubble" },
          h("span", { class: "text" }, send.text),
          h(
            "span",
            { class: "meta" },
            h("time", null, clockTime(send.time)),
            tick(send.failed ? "failed" : "sending"),
          ),
        ),
        send.failed &&
          h(
            "button",
            { class: "msg-action visible", type: "button", onclick: () => state.retry(send) },
            "Retry",
          ),
      ),
    );
    previous = { time: send.time, sender: ctx.me.userID };
  }

  if (state.messages.length === 0 && state.pending.length === 0 && state.edge !== "loading") {
    items.push(
      h(
        "li",
        { class: "empty-chat" },
        h("div", { class: "empty-icon" }, icon("chat", 30)),
        h("p", null, "No messages yet. Say hello!"),
      ),
    );
  }
  replace(list, ...items);
}
