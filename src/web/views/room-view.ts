// One joined chatroom in the chat pane: its header (name, ID, connection; Leave, and for its creator
// Close and the join token to share), the room's messages as they come, and a composer.
import type { ChatroomMessage } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { clockTime, dayLabel } from "../format.ts";
import { icon } from "../icons.ts";
import type { JoinedRoom, Rooms } from "../rooms.ts";
import { avatar } from "./avatar.ts";
import { displayName } from "./conversation-list.ts";

/** A send not acked yet: shown greyed until the room's order has it. */
interface PendingRoomSend {
  clientMsgId: string;
  text: string;
  time: number;
}

export class RoomView {
  readonly element: HTMLElement;
  readonly id: string;
  private readonly ctx: AppContext;
  private readonly rooms: Rooms;
  private readonly entry: JoinedRoom;
  private readonly pending = new Map<string, PendingRoomSend>();
  private readonly header = h("header", { class: "chat-header" });
  private readonly tokenBar = h("div", { class: "room-token", "aria-label": "Join token" });
  private readonly scroller = h("div", { class: "timeline-scroll" });
  private readonly timeline = h("ol", { class: "timeline", "aria-label": "Messages", "aria-live": "polite" });
  private readonly input: HTMLTextAreaElement;

  constructor(ctx: AppContext, rooms: Rooms, entry: JoinedRoom) {
    this.ctx = ctx;
    this.rooms = rooms;
    this.entry = entry;
    this.id = entry.id;
    this.scroller.append(this.timeline);
    this.input = h("textarea", {
      rows: 1,
      placeholder: "Write to the room…",
      "aria-label": "Message",
      maxlength: 4000,
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          composer.requestSubmit();
        }
      },
    });
    const composer = h(
      "form",
      {
        class: "composer",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const text = this.input.value.trim();
          if (!text) return;
          this.input.value = "";
          this.send(text);
        },
      },
      this.input,
      h("button", { class: "primary send", type: "submit", "aria-label": "Send" }, "Send"),
    );
    this.element = h(
      "section",
      { class: "chat-panel room", "aria-label": "Room" },
      this.header,
      this.tokenBar,
      this.scroller,
      composer,
    );
    this.refresh(true);
  }

  focus(): void {
    if (window.matchMedia("(pointer: fine)").matches) this.input.focus();
  }

  /** The room's messages, details or connection changed. */
  refresh(toBottom = false): void {
    for (const m of this.entry.messages) this.pending.delete(m.clientMsgId);
    this.renderHeader();
    this.renderToken();
    this.render(toBottom);
  }

  private get mine(): boolean {
    return this.entry.info?.creatorId === this.ctx.me.userID;
  }

  private send(text: string): void {
    const clientMsgId = crypto.randomUUID();
    this.pending.set(clientMsgId, { clientMsgId, text, time: Date.now() });
    this.render(true);
    this.entry.room.send({ content: text, clientMsgId }).catch((error: unknown) => {
      this.pending.delete(clientMsgId);
      this.ctx.toast(`Not sent: ${errorText(error)}`);
      this.render();
    });
  }

  private renderHeader(): void {
    const name = this.entry.info?.name || this.entry.room.name || "Room";
    // Both approximate (the relays' last reports): the newer of the two is not known, the larger is kept.
    const listeners = Math.max(this.entry.info?.listeners ?? 0, this.entry.room.listenersAtJoin);
    const status = this.entry.online ? `${listeners} listening` : "Reconnecting…";
    const copyId = () =>
      navigator.clipboard.writeText(this.id).then(
        () => this.ctx.toast("Room ID copied"),
        () => this.ctx.toast(`Room ID: ${this.id}`),
      );
    const closeRoom = () =>
      this.rooms
        .close(this.id)
        .catch((error: unknown) => this.ctx.toast(`Could not close: ${errorText(error)}`));
    replace(
      this.header,
      h(
        "button",
        {
          class: "icon-button back",
          "aria-label": "Back to rooms",
          onclick: () => this.ctx.closeConversation(),
        },
        icon("back", 26),
      ),
      avatar(this.id, name, "md", true),
      h(
        "div",
        { class: "chat-title" },
        h("h2", null, name),
        h("p", { class: "chat-subtitle", "aria-live": "polite" }, `${status} · ID ${this.id}`),
      ),
      h(
        "button",
        {
          class: "icon-button",
          title: "Copy the room ID (others join with it)",
          "aria-label": "Copy room ID",
          onclick: () => void copyId(),
        },
        icon("copy"),
      ),
      this.mine &&
        h("button", { class: "small", type: "button", onclick: () => void closeRoom() }, "Close room"),
      h("button", { class: "small", type: "button", onclick: () => this.rooms.leave(this.id) }, "Leave"),
    );
  }

  /** For the creator of a token room: the join token to hand out, and a fresh one on demand. */
  private renderToken(): void {
    const token = this.entry.joinToken;
    const show = this.mine && this.entry.info?.access === "token";
    this.tokenBar.hidden = !show;
    if (!show) return replace(this.tokenBar);
    const field = h("input", {
      readonly: true,
      value: token?.token ?? "",
      "aria-label": "Join token to share",
      placeholder: "No join token yet",
      onfocus: (e: FocusEvent) => (e.currentTarget as HTMLInputElement).select(),
    });
    const copy = () =>
      navigator.clipboard.writeText(field.value).then(
        () => this.ctx.toast("Join token copied"),
        () => this.ctx.toast("Select the token and copy it"),
      );
    const fresh = () =>
      this.rooms.newToken(this.id).catch((error: unknown) => this.ctx.toast(errorText(error)));
    replace(
      this.tokenBar,
      h("small", { class: "muted" }, "Join token"),
      field,
      token && h("button", { class: "small", type: "button", onclick: () => void copy() }, "Copy"),
      h(
        "button",
        { class: "small", type: "button", onclick: () => void fresh() },
        token ? "New token" : "Make one",
      ),
      token &&
        h(
          "small",
          { class: "muted" },
          `valid until ${dayLabel(token.expiresAt)}, ${clockTime(token.expiresAt)}`,
        ),
    );
  }

  private bubble(m: ChatroomMessage, first: boolean): HTMLElement {
    const mine = m.senderId === this.ctx.me.userID;
    return h(
      "li",
      { class: `msg ${mine ? "mine" : "theirs"}${first ? " first" : ""}`, "data-seq": m.seq },
      !mine && first && h("span", { class: "sender" }, displayName(this.ctx, m.senderId)),
      h(
        "div",
        { class: "bubble" },
        h("span", { class: "text" }, m.messageType === 1 ? m.text : "[Unsupported message]"),
        h("span", { class: "meta" }, h("time", null, clockTime(m.serverTime))),
      ),
    );
  }

  /** Re-renders the timeline, following the bottom when the reader is there. */
  private render(toBottom = false): void {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 48;
    const items: HTMLElement[] = [];
    let previous = "";
    for (const m of this.entry.messages) {
      items.push(this.bubble(m, m.senderId !== previous));
      previous = m.senderId;
    }
    for (const send of this.pending.values()) {
      items.push(
        h(
          "li",
          { class: `msg mine pending${previous === this.ctx.me.userID ? "" : " first"}` },
          h(
            "div",
            { class: "bubble" },
            h("span", { class: "text" }, send.text),
            h("span", { class: "meta" }, h("time", null, clockTime(send.time))),
          ),
        ),
      );
      previous = this.ctx.me.userID;
    }
    if (items.length === 0)
      items.push(
        h(
          "li",
          { class: "empty-chat" },
          h("div", { class: "empty-icon" }, icon("people", 30)),
          h("p", null, "Nobody has said anything yet. Say hello!"),
        ),
      );
    replace(this.timeline, ...items);
    if (toBottom || atBottom) s.scrollTop = s.scrollHeight;
  }
}
