// The signed-in page: sidebar (who I am, connection, Chats, Contacts and Rooms tabs) and the chat pane.
// It routes the client's events to the list and the open chat, and is the views' AppContext.
import { OwnReactions } from "../own-reactions.ts";
import type { IMClient, Message, ReceiptEvent, User } from "edge-im/client";
import { MessageType, systemConversationId } from "edge-im/client";
import type { AppContext } from "../context.ts";
import { ConversationList } from "../conversations.ts";
import { Directory } from "../directory.ts";
import { h, replace } from "../dom.ts";
import { describeNotice, parseNotice } from "../notices.ts";
import { icon } from "../icons.ts";
import { avatar } from "./avatar.ts";
import { ChatView } from "./chat-view.ts";
import { ContactsView } from "./contacts-view.ts";
import { renderConversationList } from "./conversation-list.ts";
import { Rooms } from "../rooms.ts";
import { RoomView } from "./room-view.ts";
import { roomRoute, RoomsView } from "./rooms-view.ts";
import { SearchPanel } from "./search-panel.ts";

type Tab = "chats" | "contacts" | "rooms";

/** `chatroom_<id>` routes to a room's view (the hash is how the page says what is open). */
const ROOM_PREFIX = roomRoute("");

export class MainView implements AppContext {
  readonly client: IMClient;
  readonly me: User;
  readonly directory: Directory;
  readonly conversations: ConversationList;
  readonly ownReactions = new OwnReactions();
  private readonly root: HTMLElement;
  private readonly contacts: ContactsView;
  private readonly search: SearchPanel;
  private readonly rooms: Rooms;
  private readonly roomsView: RoomsView;
  /** The message to show once its conversation opens (a search hit). */
  private jump: { conversationId: string; seq: number } | null = null;
  private readonly list = h("div", { class: "list-pane" });
  private readonly tabs = h("nav", { class: "tabs", "aria-label": "Sidebar" });
  private readonly status = h("small", { class: "connection", "aria-live": "polite" }, "Connecting…");
  private readonly chatPane = h("main", { class: "chat-pane" });
  private readonly toastBox = h("div", { class: "toast", role: "status" });
  private readonly shell: HTMLElement;
  private tab: Tab = "chats";
  private chat: ChatView | null = null;
  private room: RoomView | null = null;
  private renderQueued = false;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly logout: () => void;

  constructor(root: HTMLElement, client: IMClient, me: User, logout: () => void) {
    this.root = root;
    this.client = client;
    this.me = me;
    this.logout = logout;
    this.directory = new Directory(client, () => this.refreshAll());
    this.directory.addUsers([me]);
    this.conversations = new ConversationList(me.userID);
    this.contacts = new ContactsView(this, () => this.queueRender());
    this.search = new SearchPanel(this, () => this.queueRender());
    this.rooms = new Rooms(client, {
      changed: (roomId) => {
        if (this.room?.id === roomId) this.room.refresh();
        this.roomsView.render();
      },
      ended: (roomId, reason, message) => {
        if (reason !== "left") this.toast(`Room ${reason === "closed" ? "closed" : "ended"}: ${message}`);
        if (this.room?.id === roomId) this.closeConversation();
        this.roomsView.render();
      },
    });
    this.roomsView = new RoomsView(this, this.rooms);
    const sidebar = h(
      "aside",
      { class: "sidebar" },
      h(
        "header",
        { class: "sidebar-header" },
        avatar(me.userID, me.nickname || me.userID, "md"),
        h("div", { class: "me" }, h("strong", null, me.nickname || me.userID), this.status),
        h(
          "button",
          { class: "small ghost logout", type: "button", title: "Log out", onclick: () => this.logout() },
          icon("logout", 16),
          h("span", null, "Log out"),
        ),
      ),
      this.tabs,
      this.search.form,
      this.search.results,
      this.list,
      this.contacts.element,
      this.roomsView.element,
    );
    this.shell = h("div", { class: "app-shell" }, sidebar, this.chatPane, this.toastBox);
  }

  /** Shows the page, wires the client's events and connects. */
  start(): void {
    replace(this.root, this.shell);
    this.renderEmptyChat();
    this.renderSidebar();
    const c = this.client;
    this.unsubscribe.push(
      c.on("messages", ({ conversationId, messages }) => this.onMessages(conversationId, messages)),
      c.on("connected", () => {
        this.setStatus("Online", "online");
        void this.chat?.sync();
        void this.reloadConversations();
        void this.contacts.reload();
      }),
      c.on("disconnected", (e) => this.setStatus(e.willReconnect ? "Reconnecting…" : "Offline", "offline")),
      c.on("reconnecting", () => this.setStatus("Reconnecting…", "offline")),
      c.on("receipt", (e) => this.onReceipt(e)),
      c.on("revoke", (e) => {
        this.conversations.revoked(e.conversationId, e.serverMsgId);
        if (this.chat?.id === e.conversationId) this.chat.onRevoke(e);
        this.queueRender();
      }),
      c.on("updated", (m) => {
        if (m.isRevoked) this.conversations.revoked(m.conversationId, m.serverMsgId);
        else this.conversations.edited(m.conversationId, m.serverMsgId, m.text);
        if (this.chat?.id === m.conversationId) this.chat.onUpdated(m);
        this.queueRender();
      }),
      c.on("pins", (e) => this.chat?.id === e.conversationId && this.chat.onPins(e.pins)),
      c.on("typing", (e) => this.chat?.id === e.conversationId && this.chat.onTyping(e)),
      c.on("presence", (e) => this.chat?.onPresence(e)),
      // Failures nobody awaits (a sync, a gap fill, the store): for whoever opens the console.
      c.on("error", (e) => console.warn(`edge-im: ${e.message}`)),
      // Kicked (another device, a ban, a logout elsewhere): the App shows the sign-in form with why.
    );
    // Back on a tab that was hidden: what arrived meanwhile in the open chat is read now.
    const onVisible = () => document.visibilityState === "visible" && this.chat?.markRead();
    document.addEventListener("visibilitychange", onVisible);
    this.unsubscribe.push(() => document.removeEventListener("visibilitychange", onVisible));
    const onHash = () => this.showConversation(decodeURIComponent(location.hash.slice(1)) || null);
    window.addEventListener("hashchange", onHash);
    this.unsubscribe.push(() => window.removeEventListener("hashchange", onHash));
    onHash();
    c.connect().catch(() => undefined); // a refused session ends in the "session" event (logout)
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.chat?.close();
    this.rooms.leaveAll();
    clearTimeout(this.toastTimer);
  }

  // ---- AppContext ------------------------------------------------------------------------------

  openConversation(conversationId: string): void {
    const hash = `#${encodeURIComponent(conversationId)}`;
    if (location.hash === hash) this.showConversation(conversationId);
    else location.hash = hash;
  }

  openMessage(conversationId: string, seq: number): void {
    if (this.chat?.id === conversationId) {
      void this.chat.reveal(seq);
      this.shell.classList.add("show-chat");
      return;
    }
    this.jump = { conversationId, seq };
    this.openConversation(conversationId);
  }

  closeConversation(): void {
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    this.showConversation(null);
  }

  socialChanged(): void {
    void this.contacts.reload();
    this.queueRender();
  }

  listChanged(): void {
    this.queueRender();
  }

  toast(text: string): void {
    this.toastBox.textContent = text;
    this.toastBox.classList.add("visible");
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => this.toastBox.classList.remove("visible"), 4_000);
  }

  // ---- events ----------------------------------------------------------------------------------

  private onMessages(conversationId: string, messages: readonly Message[]): void {
    this.conversations.addMessages(conversationId, messages);
    if (conversationId === systemConversationId(this.me.userID)) {
      this.onNotices(messages);
      return;
    }
    if (this.chat?.id === conversationId) this.chat.onMessages(messages);
    this.queueRender();
  }

  /** Friend notices: reload requests and friends, and say what happened. */
  private onNotices(messages: readonly Message[]): void {
    const fresh = messages.filter(
      (m) => m.messageType === MessageType.notification && Date.now() - m.serverTime < 60_000,
    );
    if (fresh.length === 0) return;
    void this.contacts.reload();
    const notice = parseNotice(fresh[fresh.length - 1]!.text);
    if (!notice) return;
    const other = notice.fromUserID || notice.userID;
    void this.directory
      .resolveUserName(other)
      .then(() => this.toast(describeNotice(notice, (id) => this.directory.userName(id))));
  }

  /**
   * A read receipt. Mine (another device) clears the unread count; someone else's moves the
   * conversation's read mark: up to the newest of the ids it names that we know, or everything
   * when it names none.
   */
  private onReceipt(e: ReceiptEvent): void {
    if (e.userId === this.me.userID) {
      this.conversations.markRead(e.conversationId);
    } else {
      const row = this.conversations.ensure(e.conversationId);
      const open = this.chat?.id === e.conversationId ? this.chat : null;
      let seq = e.serverMsgIds.length === 0 ? row.maxSeq : (open?.seqOf(e.serverMsgIds) ?? 0);
      if (row.last && e.serverMsgIds.includes(row.last.serverMsgId)) seq = Math.max(seq, row.last.seq);
      this.conversations.peerReadUpTo(e.conversationId, seq);
      open?.onReceipt();
    }
    this.queueRender();
  }

  private async reloadConversations(): Promise<void> {
    try {
      const { conversations } = await this.client.conversations.list({ limit: 100 });
      this.conversations.fromServer(conversations);
      for (const c of conversations) if (c.userID) this.directory.want(c.userID);
    } catch (error) {
      this.toast(`Could not load chats: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.queueRender();
  }

  private setStatus(text: string, state: "online" | "offline"): void {
    this.status.textContent = text;
    this.status.className = `connection ${state}`;
  }

  // ---- rendering -------------------------------------------------------------------------------

  private showConversation(conversationId: string | null): void {
    if (this.chat?.id === conversationId) return;
    if (this.room && conversationId === roomRoute(this.room.id)) return;
    this.chat?.close();
    this.chat = null;
    this.room = null;
    this.shell.classList.toggle("show-chat", conversationId !== null);
    if (!conversationId) {
      this.renderEmptyChat();
    } else if (conversationId.startsWith(ROOM_PREFIX)) {
      this.showRoom(conversationId.slice(ROOM_PREFIX.length));
    } else {
      const chat = new ChatView(this, conversationId);
      const jump = this.jump?.conversationId === conversationId ? this.jump.seq : null;
      this.jump = null;
      this.chat = chat;
      replace(this.chatPane, chat.element);
      void chat.load().then(async () => {
        if (jump !== null) await chat.reveal(jump);
        this.queueRender();
      });
    }
    this.queueRender();
  }

  /** A joined room's view; a room not joined yet (a link, a reload) is joined first (open rooms). */
  private showRoom(roomId: string): void {
    const joined = this.rooms.get(roomId);
    if (joined) {
      this.room = new RoomView(this, this.rooms, joined);
      replace(this.chatPane, this.room.element);
      this.room.focus();
      return;
    }
    replace(this.chatPane, h("div", { class: "empty-state" }, h("p", null, "Joining the room…")));
    this.rooms.join(roomId).then(
      () => {
        if (location.hash === `#${encodeURIComponent(roomRoute(roomId))}`) {
          this.room = null;
          this.showRoom(roomId);
        }
      },
      (error: unknown) => {
        this.toast(`Could not join the room: ${error instanceof Error ? error.message : String(error)}`);
        this.closeConversation();
      },
    );
  }

  private renderEmptyChat(): void {
    replace(
      this.chatPane,
      h(
        "div",
        { class: "empty-state" },
        h("div", { class: "empty-icon" }, icon("chat", 32)),
        h("h2", null, "Pick a chat"),
        h("p", null, "Choose a conversation on the left, or find friends and groups in Contacts."),
      ),
    );
  }

  /** Renders the sidebar once per tick, however many events asked for it. */
  private queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    setTimeout(() => {
      this.renderQueued = false;
      this.renderSidebar();
    }, 0);
  }

  private refreshAll(): void {
    this.chat?.refresh();
    this.room?.refresh();
    this.search.render();
    this.contacts.render();
    this.queueRender();
  }

  private renderSidebar(): void {
    const unread = this.conversations.totalUnread();
    const requests = this.contacts.incomingCount;
    document.title = unread > 0 ? `(${unread}) Edge IM` : "Edge IM";
    const tab = (id: Tab, label: string, count: number) =>
      h(
        "button",
        {
          class: `tab${this.tab === id ? " active" : ""}`,
          role: "tab",
          "aria-selected": String(this.tab === id),
          onclick: () => {
            this.tab = id;
            this.renderSidebar();
          },
        },
        label,
        count > 0 && h("span", { class: "badge", "aria-label": `${count} new` }, count > 99 ? "99+" : count),
      );
    replace(
      this.tabs,
      tab("chats", "Chats", unread),
      tab("contacts", "Contacts", requests),
      tab("rooms", "Rooms", 0),
    );
    this.search.form.hidden = this.tab !== "chats";
    this.search.results.hidden = this.tab !== "chats" || !this.search.active;
    this.list.hidden = this.tab !== "chats" || this.search.active;
    this.contacts.element.hidden = this.tab !== "contacts";
    this.roomsView.element.hidden = this.tab !== "rooms";
    if (this.tab === "chats")
      renderConversationList(this.list, this, this.chat?.id ?? null, () => {
        this.tab = "contacts";
        this.renderSidebar();
      });
  }
}
