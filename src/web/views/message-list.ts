// Renders a chat's timeline: day separators, notices, bubbles with time and read ticks, photos and
// file links, revoked messages, sends still in flight, and the revoke action on one's own recent
// messages.
import { MessageType, readFileContent, readImageContent, type Message } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { clockTime, dayLabel, fileSize, sameDay } from "../format.ts";
import { describeNotice, parseNotice } from "../notices.ts";
import { icon } from "../icons.ts";
import { displayName } from "./conversation-list.ts";

/** The server lets a sender revoke within 2 minutes (README, "Revoke"). */
export const REVOKE_WINDOW_MS = 120_000;

/** A send not yet acked (or failed); it becomes a Message when its ack arrives. */
export interface PendingSend {
  clientMsgId: string;
  text: string;
  time: number;
  failed: boolean;
  /** An attachment: uploaded again on retry. */
  file?: File;
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
    const body = m.isRevoked
      ? h("span", { class: "text" }, mine ? "You revoked this message" : "This message was revoked")
      : bubbleBody(m);
    items.push(
      h(
        "li",
        {
          class: `msg ${mine ? "mine" : "theirs"}${firstOfRun ? " first" : ""}${m.isRevoked ? " revoked" : ""}`,
          "data-seq": m.seq,
        },
        state.group && !mine && firstOfRun && h("span", { class: "sender" }, displayName(ctx, m.senderId)),
        h(
          "div",
          { class: body.classList.contains("photo") ? "bubble media" : "bubble" },
          body,
          h(
            "span",
            { class: "meta" },
            h("time", null, clockTime(time)),
            mine && !m.isRevoked && tick(status),
          ),
        ),
        canRevoke(ctx, m, now) &&
          h("button", { class: "msg-action", type: "button", onclick: () => state.revoke(m) }, "Revoke"),
      ),
    );
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
