// One open conversation: header (name, typing, presence), the pinned bar, the timeline with history
// paging backwards, the composer with typing signals, attachments (picked, pasted or dropped),
// replies and `@` mentions, read receipts and revoke, and rich messages' actions: reactions, edits
// in place, pins, forwards, a thread beside the timeline and an edit's history.
import {
  ErrorCode,
  fileContent,
  GroupRole,
  IMProtocolError,
  type GroupMember,
  imageContent,
  MessageType,
  type Message,
  type PinnedMessage,
  type PresenceEvent,
  type RevokeEvent,
  type TypingEvent,
} from "edge-im/client";
import { filesOf, imageSize, isShownImage } from "../attachments.ts";
import { errorText, type AppContext } from "../context.ts";
import { unread, type ConversationRow } from "../conversations.ts";
import { h } from "../dom.ts";
import { renderChatHeader } from "./chat-header.ts";
import { editForm, renderTimeline, type PendingSend } from "./message-list.ts";
import { Composer, type ComposedExtras } from "./composer.ts";
import { displayName } from "./conversation-list.ts";
import { openEditHistory } from "./edit-history.ts";
import { openForwardDialog } from "./forward-dialog.ts";
import type { MessageActions } from "./message-menu.ts";
import { renderPinnedBar } from "./pinned-bar.ts";
import { ThreadPane } from "./thread-pane.ts";
import { MENTION_ALL, type MentionCandidate } from "../mentions.ts";

/** A send that is neither a reply nor mentions anyone. */
const NO_EXTRAS: ComposedExtras = { mentions: [], mentionAll: false, replyTo: null };

/** Messages per page, from the store and from the server. */
const PAGE = 30;
/** A "typing" lasts this long unless renewed (the sender renews it every 5 s while typing). */
const TYPING_SHOWN_MS = 6_000;
/** Scrolled this close to the top, the next page loads. */
const LOAD_MORE_PX = 80;
/** Pages loaded backwards to reach a message (a search hit) before fetching its page alone. */
const REVEAL_PAGES = 20;
/** How long a revealed message stays marked. */
const REVEAL_MARK_MS = 4_000;

/** Members read for `@` (the first, by role); this user's own role is looked up past them when needed. */
const MEMBERS_SHOWN = 500;

/** A send the server refused for what it is (not for a lost connection or a limit): retrying cannot help. */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof IMProtocolError &&
    (error.code === ErrorCode.ERR_INVALID_PARAM || error.code === ErrorCode.ERR_PERMISSION_DENIED)
  );
}

export class ChatView {
  readonly element: HTMLElement;
  readonly id: string;
  private readonly ctx: AppContext;
  private readonly row: ConversationRow;
  private readonly messages = new Map<number, Message>();
  private readonly pending = new Map<string, PendingSend>();
  private readonly typing = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly header = h("header", { class: "chat-header" });
  private readonly scroller = h("div", { class: "timeline-scroll" });
  private readonly timeline = h("ol", { class: "timeline", "aria-label": "Messages", "aria-live": "polite" });
  private readonly composer: Composer;
  private readonly pinnedBar = h("div", {
    class: "pinned-bar",
    role: "region",
    "aria-label": "Pinned messages",
    hidden: true,
  });
  private pins: PinnedMessage[] = [];
  private pinIndex = 0;
  /** Pinned messages fetched because the timeline had not loaded them (by serverMsgId). */
  private readonly pinnedLoaded = new Map<string, Message>();
  /** The conversation's other members (for `@`) and this user's role in a group. */
  private members: MentionCandidate[] = [];
  /** Whether `members` holds the group's list (its load may have failed), and a load is under way. */
  private membersLoaded = false;
  private membersLoading = false;
  private role: number = GroupRole.member;
  /** The frame a batched re-render waits for (0: none queued). */
  private frame = 0;
  private menuSeq: number | null = null;
  private editing: { seq: number; form: HTMLElement } | null = null;
  private thread: ThreadPane | null = null;
  private readonly actions: MessageActions;
  /** Highest seq of someone else's message this view has sent a read receipt for. */
  private receiptSent = 0;
  private edge: "loading" | "start" | "more" = "loading";
  private online: PresenceEvent | null = null;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private revokeTimer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(ctx: AppContext, conversationId: string) {
    this.ctx = ctx;
    this.id = conversationId;
    this.row = ctx.conversations.ensure(conversationId);
    this.composer = new Composer(ctx, conversationId, {
      send: (text, extras) => this.send(text, extras),
      attach: (files) => files.forEach((file) => this.sendAttachment(file)),
      candidates: () => this.mentionCandidates(),
    });
    this.actions = this.messageActions();
    this.scroller.append(this.timeline);
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < LOAD_MORE_PX) void this.loadOlder();
    });
    this.element = h(
      "section",
      {
        class: "chat-panel",
        "aria-label": "Chat",
        ondragover: (e: DragEvent) => {
          if (!e.dataTransfer?.types.includes("Files")) return;
          e.preventDefault();
          this.element.classList.add("dropping");
        },
        ondragleave: (e: DragEvent) => {
          if (e.target === this.element) this.element.classList.remove("dropping");
        },
        ondrop: (e: DragEvent) => {
          this.element.classList.remove("dropping");
          const files = filesOf(e.dataTransfer);
          if (files.length === 0) return;
          e.preventDefault();
          files.forEach((file) => this.sendAttachment(file));
        },
      },
      this.header,
      this.pinnedBar,
      this.scroller,
      this.composer.element,
    );
    // Revoke buttons disappear when their 2 minutes are over.
    this.revokeTimer = setInterval(() => this.render(), 15_000);
    this.renderHeader();
  }

  private get group(): boolean {
    return this.row.type === 2;
  }

  /**
   * Shows the stored messages at once, then (when connected; else on `connected`, see `sync`) the
   * newest page from the server with fresh statuses.
   */
  async load(): Promise<void> {
    const stored = await this.ctx.client.getMessages(this.id, { limit: PAGE }).catch(() => []);
    this.add(stored);
    this.edge = stored.length > 0 ? "more" : "loading";
    this.render(true);
    if (this.group) this.ctx.directory.groupName(this.row.groupId);
    void this.loadMembers();
    this.onPins(await this.ctx.client.pins(this.id).catch(() => []));
    if (this.ctx.client.state === "ready") await this.sync();
    this.composer.focus();
  }

  /** The newest page from the server (statuses change while away), presence, and the receipt. */
  async sync(): Promise<void> {
    if (this.row.type === 1) void this.fetchPresence();
    try {
      const fresh = await this.ctx.client.history(this.id, { limit: PAGE });
      this.add(fresh);
      if (this.edge !== "more" || this.messages.size <= fresh.length)
        this.edge = this.oldest() <= 1 || fresh.length < PAGE ? "start" : "more";
    } catch {
      if (this.edge === "loading") this.edge = this.messages.size > 0 ? "more" : "start";
    }
    if (this.closed) return;
    this.render(true);
    this.markRead();
  }

  close(): void {
    this.closed = true;
    document.removeEventListener("click", this.outsideClick);
    clearInterval(this.revokeTimer);
    clearTimeout(this.readTimer);
    for (const timer of this.typing.values()) clearTimeout(timer);
    this.composer.dispose();
  }

  /** New messages of this conversation, in seq order. */
  onMessages(messages: readonly Message[]): void {
    for (const m of messages) if (m.clientMsgId) this.pending.delete(m.clientMsgId);
    for (const m of messages) this.stopTyping(m.senderId);
    this.add(messages);
    this.thread?.onMessages(messages);
    this.render(messages.some((m) => m.senderId === this.ctx.me.userID));
    if (messages.some((m) => m.senderId !== this.ctx.me.userID)) this.scheduleRead();
  }

  /**
   * Scrolls to the message `seq` and marks it for a moment (a search hit). Earlier pages load
   * until it is there, as scrolling up would load them; one far back is fetched with its page alone.
   */
  async reveal(seq: number): Promise<void> {
    for (let page = 0; !this.messages.has(seq) && this.edge === "more" && page < REVEAL_PAGES; page++)
      await this.loadOlder();
    if (!this.messages.has(seq)) {
      try {
        this.add(await this.ctx.client.history(this.id, { beforeSeq: seq + 1, limit: PAGE }));
      } catch (error) {
        this.ctx.toast(`Could not load that message: ${errorText(error)}`);
      }
      this.render();
    }
    if (this.closed) return;
    const item = this.timeline.querySelector<HTMLElement>(`[data-seq="${seq}"]`);
    if (!item) return this.ctx.toast("That message is no longer there");
    item.scrollIntoView({ block: "center" });
    item.classList.add("found");
    setTimeout(() => item.classList.remove("found"), REVEAL_MARK_MS);
  }

  /** The highest seq among `serverMsgIds` that this view has loaded (0 when none). */
  seqOf(serverMsgIds: readonly string[]): number {
    let seq = 0;
    for (const m of this.messages.values())
      if (serverMsgIds.includes(m.serverMsgId)) seq = Math.max(seq, m.seq);
    return seq;
  }

  /** Someone else read further (the row's `peerRead` moved): re-render the ticks. */
  onReceipt(): void {
    this.render();
  }

  onRevoke(e: RevokeEvent): void {
    const found = [...this.messages.values()].find((m) => m.serverMsgId === e.serverMsgId);
    if (!found) return;
    this.messages.set(found.seq, { ...found, isRevoked: true, text: "", revokedBy: e.revokedBy });
    this.render();
  }

  /** A message changed (edit, reactions, replies, revoke): its current state, this view's read state kept. */
  onUpdated(m: Message): void {
    const shown = this.messages.get(m.seq);
    const current = shown
      ? { ...m, status: Math.max(shown.status, m.status), readCount: shown.readCount }
      : null;
    if (current) this.messages.set(m.seq, current);
    if (this.pinnedLoaded.has(m.serverMsgId)) this.pinnedLoaded.set(m.serverMsgId, m);
    this.thread?.onMessages([current ?? m]);
    if (this.editing?.seq === m.seq && m.isRevoked) this.editing = null;
    this.renderSoon();
  }

  /**
   * Re-renders once per frame however many changes arrive (a catch-up applies a page of them one
   * by one), rather than once per change.
   */
  private renderSoon(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.closed) return;
      this.render();
      this.renderPins();
    });
  }

  /** The pinned list changed (or was read from the store). */
  onPins(pins: readonly PinnedMessage[]): void {
    this.pins = [...pins];
    this.pinIndex = 0;
    this.renderPins();
    this.render();
    for (const pin of pins) void this.fetchPinned(pin);
  }

  onTyping(e: TypingEvent): void {
    if (e.userId === this.ctx.me.userID) return;
    clearTimeout(this.typing.get(e.userId));
    if (e.typing)
      this.typing.set(
        e.userId,
        setTimeout(() => this.stopTyping(e.userId), TYPING_SHOWN_MS),
      );
    else this.typing.delete(e.userId);
    this.renderHeader();
  }

  onPresence(e: PresenceEvent): void {
    if (this.row.type !== 1 || e.userId !== this.row.peerId) return;
    this.online = e;
    this.renderHeader();
  }

  /** Names or group details arrived, or the row changed (pin, mute). */
  refresh(): void {
    this.renderHeader();
    this.render();
  }

  private stopTyping(userId: string): void {
    if (!this.typing.has(userId)) return;
    clearTimeout(this.typing.get(userId));
    this.typing.delete(userId);
    this.renderHeader();
  }

  private add(messages: readonly Message[]): void {
    for (const m of messages) {
      const shown = this.messages.get(m.seq);
      // A copy read before a change this view already shows (a history page after a push) keeps the
      // newer rich state; its read state is the newer of the two.
      this.messages.set(
        m.seq,
        shown && shown.modSeq > m.modSeq
          ? {
              ...shown,
              status: Math.max(shown.status, m.status),
              readCount: Math.max(shown.readCount, m.readCount),
            }
          : m,
      );
      if (m.senderId === this.ctx.me.userID && (m.status === 3 || m.readCount > 0))
        this.ctx.conversations.peerReadUpTo(this.id, m.seq);
    }
  }

  private oldest(): number {
    let oldest = Infinity;
    for (const seq of this.messages.keys()) oldest = Math.min(oldest, seq);
    return oldest === Infinity ? 0 : oldest;
  }

  private async loadOlder(): Promise<void> {
    if (this.edge !== "more" || this.closed) return;
    const before = this.oldest();
    if (before <= 1) {
      this.edge = "start";
      return this.render();
    }
    this.edge = "loading";
    this.render();
    try {
      const older = await this.ctx.client.history(this.id, { beforeSeq: before, limit: PAGE });
      this.add(older);
      this.edge = older.length === 0 || this.oldest() <= 1 ? "start" : "more";
    } catch (error) {
      this.edge = "more";
      this.ctx.toast(`Could not load earlier messages: ${errorText(error)}`);
    }
    this.render();
  }

  private send(text: string, extras: ComposedExtras, clientMsgId: string = crypto.randomUUID()): void {
    const entry: PendingSend = { clientMsgId, text, time: Date.now(), failed: false, extras };
    this.pending.set(clientMsgId, entry);
    this.render(true);
    this.ctx.client
      .send({
        conversationId: this.id,
        content: text,
        clientMsgId,
        replyTo: extras.replyTo?.serverMsgId,
        mentions: extras.mentions,
        mentionAll: extras.mentionAll,
      })
      .catch((error: unknown) => this.failed(clientMsgId, error));
  }

  /** Uploads a file, then sends it as an image message (a photo a browser can show) or a file message. */
  private sendAttachment(file: File, clientMsgId: string = crypto.randomUUID()): void {
    const photo = isShownImage(file);
    const text = photo ? "Sending photo…" : `Sending ${file.name || "file"}…`;
    this.pending.set(clientMsgId, { clientMsgId, text, time: Date.now(), failed: false, file });
    this.render(true);
    const deliver = async () => {
      const uploaded = await this.ctx.client.uploadFile(file, { fileName: file.name || undefined });
      const content = photo
        ? imageContent({ ...uploaded, ...(await imageSize(file)) })
        : fileContent({ ...uploaded, fileName: file.name || "file" });
      const messageType = photo ? MessageType.image : MessageType.file;
      await this.ctx.client.send({ conversationId: this.id, messageType, content, clientMsgId });
    };
    deliver().catch((error: unknown) => this.failed(clientMsgId, error));
  }

  private failed(clientMsgId: string, error: unknown): void {
    const still = this.pending.get(clientMsgId);
    if (!still) return;
    if (isRefusal(error)) {
      // The server said no (a revoked quote, @all without the role…): a retry with the same
      // client_msg_id would be refused again, so the send leaves the timeline; the toast says why.
      this.pending.delete(clientMsgId);
      this.ctx.toast(`Not sent: ${errorText(error)}`);
      this.render();
      return;
    }
    still.failed = true;
    this.ctx.toast(`Not sent: ${errorText(error)}`);
    this.render();
  }

  private scheduleRead(): void {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.markRead(), 300);
  }

  /**
   * Marks the conversation read while it is on screen. Decided by the others' messages, not by
   * the unread count: one's own message counts as read in the inbox, yet the others still need
   * the receipt for what came before it.
   */
  markRead(): void {
    if (this.closed || document.visibilityState !== "visible") return;
    let newest = 0;
    for (const m of this.messages.values())
      if (m.senderId !== this.ctx.me.userID && m.seq > newest) newest = m.seq;
    if (newest <= this.receiptSent && unread(this.row) === 0) return;
    this.receiptSent = Math.max(this.receiptSent, newest);
    this.ctx.conversations.markRead(this.id);
    this.ctx.client.markRead(this.id).catch(() => {
      this.receiptSent = 0; // offline: the next message or open tries again
    });
  }

  private async fetchPresence(): Promise<void> {
    try {
      const [status] = await this.ctx.client.getPresence([this.row.peerId]);
      if (status) this.onPresence(status);
    } catch {
      // offline: no presence line
    }
  }

  private revoke(m: Message): void {
    this.ctx.client.revoke(this.id, m.serverMsgId).then(
      () => {
        this.messages.set(m.seq, { ...m, isRevoked: true, text: "" });
        this.ctx.conversations.revoked(this.id, m.serverMsgId);
        this.ctx.listChanged();
        this.render();
      },
      (error: unknown) => this.ctx.toast(`Could not revoke: ${errorText(error)}`),
    );
  }

  // ---- rich messages -----------------------------------------------------------------------

  /** Groups: the owner and admins pin; one-to-one: both sides. */
  private canPin(): boolean {
    return !this.group || this.role >= GroupRole.admin;
  }

  /** Who `@` offers: the other members, and @all for a group's owner and admins. */
  private mentionCandidates(): MentionCandidate[] {
    // The members' first load failed (offline, a slow or refused request): `@` asks again, and the
    // list opens when they arrive, rather than offering nobody until the chat is opened again.
    if (this.group && !this.membersLoaded) void this.loadMembers();
    const everyone: MentionCandidate[] =
      this.group && this.role >= GroupRole.admin ? [{ userId: "", name: MENTION_ALL }] : [];
    const others = this.group
      ? this.members
      : [{ userId: this.row.peerId, name: displayName(this.ctx, this.row.peerId) }];
    return [...everyone, ...others];
  }

  /** A group's members (names for `@`, this user's role for pins and @all). */
  private async loadMembers(): Promise<void> {
    if (!this.group || this.membersLoading) return;
    this.membersLoading = true;
    try {
      const members = await this.ctx.client.groups.members(this.row.groupId, { limit: MEMBERS_SHOWN });
      this.role = members.find((m) => m.userID === this.ctx.me.userID)?.role ?? (await this.ownRole(members));
      this.members = members
        .filter((m) => m.userID !== this.ctx.me.userID)
        .map((m) => ({ userId: m.userID, name: m.groupNickname || m.nickname || m.userID }));
      this.membersLoaded = true;
    } catch {
      // offline or refused: the next `@` asks again (mentionCandidates)
    } finally {
      this.membersLoading = false;
    }
    if (this.closed) return;
    this.renderPins();
    this.render();
    this.composer.refreshMentions();
  }

  /**
   * This user's role when they are not among the members listed first. The server lists members by
   * role (owner, admins, then members): the pages after the first are read only while they still
   * hold admins, so a plain member's lookup ends at once and an admin past the first page is found.
   */
  private async ownRole(first: readonly GroupMember[]): Promise<number> {
    let page = first;
    let offset = first.length;
    for (;;) {
      if (page.length < MEMBERS_SHOWN || page.some((m) => m.role < GroupRole.admin)) return GroupRole.member;
      page = await this.ctx.client.groups.members(this.row.groupId, { offset, limit: MEMBERS_SHOWN });
      const me = page.find((m) => m.userID === this.ctx.me.userID);
      if (me) return me.role;
      offset += page.length;
    }
  }

  /** A pin whose message is not in the timeline: fetched once, for the bar's text. */
  private async fetchPinned(pin: PinnedMessage): Promise<void> {
    if (this.pinnedLoaded.has(pin.serverMsgId) || this.messages.has(pin.seq)) return;
    try {
      const [m] = await this.ctx.client.history(this.id, { beforeSeq: pin.seq + 1, limit: 1 });
      if (m?.serverMsgId === pin.serverMsgId) this.pinnedLoaded.set(pin.serverMsgId, m);
    } catch {
      return; // offline: the bar says "Message #seq"
    }
    this.renderPins();
  }

  private renderPins(): void {
    renderPinnedBar(this.pinnedBar, this.ctx, {
      pins: this.pins,
      index: this.pinIndex,
      message: (pin) => this.messages.get(pin.seq) ?? this.pinnedLoaded.get(pin.serverMsgId),
      canUnpin: this.canPin(),
      show: (pin, next) => {
        this.pinIndex = next;
        this.renderPins();
        void this.reveal(pin.seq);
      },
      unpin: (pin) => this.setPinned(pin.serverMsgId, true),
    });
  }

  private setPinned(serverMsgId: string, unpin: boolean): void {
    const call = unpin
      ? this.ctx.client.unpin(this.id, serverMsgId)
      : this.ctx.client.pin(this.id, serverMsgId);
    call.then(
      (pins) => this.onPins(pins),
      (error: unknown) => this.ctx.toast(`Could not ${unpin ? "unpin" : "pin"}: ${errorText(error)}`),
    );
  }

  /** Closes the open message menu on a click anywhere else. */
  private readonly outsideClick = (e: MouseEvent): void => {
    if (this.menuSeq === null) return;
    if (e.target instanceof Element && e.target.closest(".msg-menu-anchor")) return;
    this.menuSeq = null;
    document.removeEventListener("click", this.outsideClick);
    this.render();
  };

  private openThread(root: Message): void {
    this.thread?.element.remove();
    const pane = new ThreadPane(this.ctx, root, {
      close: () => {
        pane.element.remove();
        if (this.thread === pane) this.thread = null;
      },
      reply: (m) => this.composer.setReply(m),
    });
    this.thread = pane;
    this.element.append(pane.element);
    void pane.load();
  }

  private messageActions(): MessageActions {
    return {
      toggleMenu: (m) => {
        this.menuSeq = m?.seq ?? null;
        if (m) setTimeout(() => document.addEventListener("click", this.outsideClick), 0);
        else document.removeEventListener("click", this.outsideClick);
        this.render();
      },
      reply: (m) => this.composer.setReply(m),
      react: (m, emoji, remove) => {
        this.ctx.client.react(this.id, m.serverMsgId, emoji, { remove }).then(
          (reactions) => {
            this.ctx.ownReactions.record(m.serverMsgId, emoji, remove);
            const shown = this.messages.get(m.seq);
            if (shown) this.messages.set(m.seq, { ...shown, reactions });
            this.render();
          },
          (error: unknown) => this.ctx.toast(`Could not react: ${errorText(error)}`),
        );
      },
      forward: (m) => openForwardDialog(this.ctx, m),
      startEdit: (m) => {
        this.editing = { seq: m.seq, form: editForm(m, this.actions) };
        this.render();
      },
      saveEdit: (m, text) => {
        this.editing = null;
        this.render();
        this.ctx.client.edit(this.id, m.serverMsgId, text).then(
          (edited) => {
            const shown = this.messages.get(m.seq);
            if (shown)
              this.messages.set(m.seq, {
                ...shown,
                text,
                content: new TextEncoder().encode(text),
                ...edited,
              });
            this.ctx.conversations.edited(this.id, m.serverMsgId, text);
            this.ctx.listChanged();
            this.render();
          },
          (error: unknown) => this.ctx.toast(`Could not edit: ${errorText(error)}`),
        );
      },
      cancelEdit: () => {
        this.editing = null;
        this.render();
      },
      pin: (m, unpin) => this.setPinned(m.serverMsgId, unpin),
      thread: (m) => this.openThread(m),
      history: (m) => openEditHistory(this.ctx, m),
      show: (seq) => void this.reveal(seq),
    };
  }

  private renderHeader(): void {
    renderChatHeader(this.header, this.ctx, this.row, {
      typing: [...this.typing.keys()],
      presence: this.online,
      changed: () => {
        this.renderHeader();
        this.ctx.listChanged();
      },
    });
  }

  /** Re-renders the timeline, keeping the reader's place (or following the bottom). */
  private render(toBottom = false): void {
    // The edit box is the same element across renders: it keeps what was typed, and its focus.
    const editFocused = this.editing?.form.contains(document.activeElement) ?? false;
    const editBox = editFocused ? document.activeElement : null;
    const focused = editFocused ? null : this.focusedControl();
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 48;
    const fromBottom = s.scrollHeight - s.scrollTop;
    renderTimeline(this.timeline, this.ctx, {
      messages: [...this.messages.values()].sort((a, b) => a.seq - b.seq),
      pending: [...this.pending.values()],
      peerRead: this.row.peerRead,
      group: this.group,
      edge: this.edge,
      revoke: (m) => this.revoke(m),
      retry: (send) => {
        this.pending.delete(send.clientMsgId);
        if (send.file) this.sendAttachment(send.file, send.clientMsgId);
        else this.send(send.text, send.extras ?? NO_EXTRAS, send.clientMsgId);
      },
      menuSeq: this.menuSeq,
      editing: this.editing,
      pinned: new Set(this.pins.map((p) => p.serverMsgId)),
      canPin: this.canPin(),
      actions: this.actions,
    });
    s.scrollTop = toBottom || atBottom ? s.scrollHeight : s.scrollHeight - fromBottom;
    if (editBox instanceof HTMLElement) editBox.focus();
    else if (focused) this.refocus(focused);
  }

  /** The timeline's focused control (a keyboard user's place), to find again after a re-render. */
  private focusedControl(): { seq: string; label: string } | null {
    const active = document.activeElement;
    if (!(active instanceof HTMLElement) || !this.timeline.contains(active)) return null;
    const seq = active.closest("[data-seq]")?.getAttribute("data-seq");
    if (!seq) return null;
    return { seq, label: active.getAttribute("aria-label") ?? active.textContent ?? "" };
  }

  /** Focuses the same control of the same message in the new timeline, else that message's menu toggle. */
  private refocus(place: { seq: string; label: string }): void {
    const item = [...this.timeline.querySelectorAll<HTMLElement>("[data-seq]")].find(
      (e) => e.getAttribute("data-seq") === place.seq,
    );
    if (!item || item.contains(document.activeElement)) return;
    const controls = [...item.querySelectorAll<HTMLElement>("button, a[href]")];
    const same = controls.find((c) => (c.getAttribute("aria-label") ?? c.textContent ?? "") === place.label);
    (same ?? item.querySelector<HTMLElement>(".msg-more"))?.focus({ preventScroll: true });
  }
}
