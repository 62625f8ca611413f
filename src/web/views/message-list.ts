// Renders a chat's timeline: day separators, notices, bubbles with time and read ticks, revoked
// messages, sends still in flight, and the revoke action on one's own recent messages.
import { MessageType, type Message } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { clockTime, dayLabel, sameDay } from "../format.ts";
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
          { class: "bubble" },
          h(
            "span",
            { class: "text" },
            m.isRevoked ? (mine ? "You revoked this message" : "This message was revoked") : bubbleText(m),
          ),
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
