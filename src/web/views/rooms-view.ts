// The Rooms tab: create a chatroom (open, or by join token only), join one by its ID (with a join
// token for a token room), and the rooms this page has joined. The forms are built once, so a
// re-render never loses what is being typed.
import { CHATROOM_NAME_MAX, type ChatroomAccess } from "edge-im/client";
import { errorText, type AppContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import type { JoinedRoom, Rooms } from "../rooms.ts";
import { card, personRow } from "./people.ts";

/** The conversation-style id the page routes a room by (`#chatroom_<id>`). */
export function roomRoute(roomId: string): string {
  return `chatroom_${roomId}`;
}

export class RoomsView {
  readonly element = h("div", { class: "contacts rooms" });
  private readonly list = h("ul", { class: "people", "aria-label": "Your rooms" });
  private readonly ctx: AppContext;
  private readonly rooms: Rooms;

  constructor(ctx: AppContext, rooms: Rooms) {
    this.ctx = ctx;
    this.rooms = rooms;
    this.element.append(this.createCard(), this.joinCard(), card("Your rooms", this.list).element);
    this.render();
  }

  render(): void {
    const joined = this.rooms.list();
    if (joined.length === 0) {
      replace(this.list, h("li", { class: "muted" }, "No rooms yet. Create one, or join one by its ID."));
      return;
    }
    replace(this.list, ...joined.map((room) => this.row(room)));
  }

  private row(room: JoinedRoom): HTMLElement {
    const name = room.info?.name || room.room.name || "Room";
    const detail = `${room.online ? "" : "Reconnecting… · "}ID ${room.id}`;
    const open = () => this.ctx.openConversation(roomRoute(room.id));
    return personRow(
      room.id,
      name,
      detail,
      [h("button", { class: "small", type: "button", onclick: open }, "Open")],
      {
        group: true,
      },
    );
  }

  private createCard(): HTMLElement {
    const name = h("input", {
      name: "roomName",
      placeholder: "Room name",
      "aria-label": "Room name",
      required: true,
      maxlength: CHATROOM_NAME_MAX,
    });
    const access = h(
      "select",
      { name: "access", "aria-label": "Who may join" },
      h("option", { value: "open" }, "Anyone with the room ID"),
      h("option", { value: "token" }, "Only with a join token"),
    );
    const button = h("button", { class: "primary small", type: "submit" }, "Create");
    const form = h(
      "form",
      {
        class: "stack-form",
        "aria-label": "New room",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          button.disabled = true;
          const chosen: ChatroomAccess = access.value === "token" ? "token" : "open";
          this.rooms
            .create(name.value.trim(), chosen)
            .then(
              (room) => {
                name.value = "";
                this.render();
                this.ctx.openConversation(roomRoute(room.id));
              },
              (error: unknown) => this.ctx.toast(`Could not create the room: ${errorText(error)}`),
            )
            .finally(() => (button.disabled = false));
        },
      },
      h("div", { class: "inline-form" }, name, button),
      access,
    );
    return card("New room", form).element;
  }

  private joinCard(): HTMLElement {
    const roomId = h("input", {
      name: "roomID",
      placeholder: "Room ID",
      "aria-label": "Room ID",
      required: true,
      autocapitalize: "none",
      spellcheck: "false",
    });
    const token = h("input", {
      name: "joinToken",
      placeholder: "Join token (token rooms only)",
      "aria-label": "Join token",
      autocapitalize: "none",
      spellcheck: "false",
    });
    const button = h("button", { class: "small", type: "submit" }, "Join");
    const form = h(
      "form",
      {
        class: "stack-form",
        "aria-label": "Join a room",
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          const id = roomId.value.trim();
          button.disabled = true;
          this.rooms
            .join(id, token.value.trim() || undefined)
            .then(
              () => {
                roomId.value = "";
                token.value = "";
                this.render();
                this.ctx.openConversation(roomRoute(id));
              },
              (error: unknown) => this.ctx.toast(`Could not join: ${errorText(error)}`),
            )
            .finally(() => (button.disabled = false));
        },
      },
      h("div", { class: "inline-form" }, roomId, button),
      token,
    );
    return card("Join a room", form).element;
  }
}
