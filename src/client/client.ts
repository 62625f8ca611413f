// IMClient, the SDK's entry point: wires HTTP, connection, outbox, receiver and signals into typed events.
import { Cmd, type Frame, pb } from "../protocol/codec.ts";
import { Chatroom } from "./chatroom.ts";
import {
  createBody,
  readChatroom,
  readJoinToken,
  roomPath,
  type ChatroomInfo,
  type ChatroomJoinToken,
  type CreateChatroomInput,
} from "./chatroom-shapes.ts";
import { Connection } from "./connection.ts";
import { TypedEmitter } from "./emitter.ts";
import { IMConnectionError, IMError } from "./errors.ts";
import { fileContent, imageContent, type UploadedFile } from "./files.ts";
import { fetchHistory } from "./history.ts";
import { ApiClient, type LoginInput, type RegisterInput } from "./http-api.ts";
import {
  ackedMessage,
  conversationWith,
  isFilledByServer,
  toMessage,
  toOutgoingInfo,
  type Outgoing,
} from "./message.ts";
import { resolveOptions, type IMClientOptions, type ResolvedOptions } from "./options.ts";
import { Outbox } from "./outbox.ts";
import { Receiver } from "./receiver.ts";
import { RichRequests } from "./rich-requests.ts";
import { RICH_MESSAGES, toPins } from "./rich-shapes.ts";
import { RichState } from "./rich-state.ts";
import { dispatchSignal, Signals } from "./signals.ts";
import { readSearchPage, searchQuery, type SearchOptions, type SearchPage } from "./message-search.ts";
import {
  readDeviceId,
  readPushSettings,
  registrationBody,
  type PushSettings,
  type PushTokenRegistration,
} from "./push.ts";
import { ConversationsApi, FriendsApi, GroupsApi } from "./social-api.ts";
import { batchSyncOver, syncRangeOver } from "./sync-requests.ts";
import type { IMStore } from "./store.ts";
import {
  MessageType,
  type ConnectionState,
  type IMEvents,
  type Message,
  type MessageVersion,
  type OutgoingMessage,
  type PinnedMessage,
  type PresenceEvent,
  type Reaction,
  type ThreadPage,
  type SendResult,
  type Session,
  type User,
} from "./types.ts";

/** What the client keeps per signed-in user. */
interface UserState {
  id: string;
  store: IMStore;
  receiver: Receiver;
  rich: RichState;
}

/** Where a message goes: a user (`to`) or a conversation id (e.g. `group_<groupID>`). */
export type MessageTarget = Pick<OutgoingMessage, "to" | "conversationId">;

/**
 * The client SDK.
 *
 * @example
 * const client = new IMClient({ apiUrl: "https://im.example.com" });
 * await client.login({ username: "alice", password: "…" });
 * client.on("message", (m) => render(m));
 * await client.connect();
 * await client.sendText(bobId, "hello");
 */
export class IMClient extends TypedEmitter<IMEvents> {
  /** Friend requests, friends and blocks over HTTP. */
  readonly friends: FriendsApi;
  /** Groups over HTTP; a group's conversation id is `group_<groupID>`. */
  readonly groups: GroupsApi;
  /** The server's conversation list (unread counts, pin, mute, hide, read) over HTTP. */
  readonly conversations: ConversationsApi;
  private readonly options: ResolvedOptions;
  private readonly api: ApiClient;
  private readonly connection: Connection;
  private readonly outbox: Outbox<Outgoing>;
  private readonly signals: Signals;
  private readonly rich: RichRequests;
  /** Bound to one user: made at the first connect, remade when another user logs in. */
  private user: UserState | null = null;
  /**
   * The server serves rich messages on the current socket (its AUTH_RSP listed the feature); null
   * before the first AUTH answer (a rich call then fails as any request without a socket does).
   */
  private richServed: boolean | null = null;
  private currentState: ConnectionState = "idle";
  /** Rooms joined and not ended; logout leaves them. */
  private readonly rooms = new Set<Chatroom>();

  constructor(options: IMClientOptions) {
    super();
    this.options = resolveOptions(options);
    const o = this.options;
    this.api = new ApiClient({
      apiUrl: o.apiUrl,
      timeoutMs: o.httpTimeoutMs,
      fetch: o.fetch,
      onSession: (session) => this.emit("session", session),
    });
    this.connection = new Connection(
      { ...o, url: o.wsUrl, backoff: o.reconnect, features: [RICH_MESSAGES] },
      {
        credentials: (expired) => this.credentials(expired),
        ready: (maxSeq, features) => this.onReady(maxSeq, features),
        frame: (frame) => this.onFrame(frame),
        state: (state) => (this.currentState = state),
        connected: (info) => this.emit("connected", info),
        disconnected: (info) => {
          this.outbox.pause();
          this.emit("disconnected", info);
        },
        reconnecting: (info) => this.emit("reconnecting", info),
        kicked: (info) => {
          this.outbox.failAll("kicked out");
          this.emit("kicked", info);
        },
        error: (error) => this.emit("error", error),
      },
    );
    this.outbox = new Outbox<Outgoing>({
      command: Cmd.CMD_SEND_MSG_REQ,
      ackTimeoutMs: o.ackTimeoutMs,
      maxAttempts: o.maxResends + 1,
      transmit: (info) =>
        this.connection.transmit(Cmd.CMD_SEND_MSG_REQ, pb.SendMessageRequest, { message: info }),
      acked: (sent, result) => this.onAcked(sent, result),
    });
    this.signals = new Signals(this.connection);
    this.rich = new RichRequests(this.connection);
    this.friends = new FriendsApi(this.api);
    this.groups = new GroupsApi(this.api);
    this.conversations = new ConversationsApi(this.api);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get session(): Session | null {
    return this.api.session;
  }

  get userId(): string | null {
    return this.api.session?.userID ?? null;
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  register(input: RegisterInput): Promise<User> {
    return this.api.register(input);
  }

  /** Logs in and keeps the session (tokens) for HTTP calls and the socket. */
  login(input: LoginInput): Promise<Session> {
    return this.api.login({ platform: this.options.platform, ...input });
  }

  /** Resumes with a session saved earlier (from the `session` event). */
  useSession(session: Session): void {
    this.api.setSession(session);
  }

  refresh(): Promise<Session> {
    return this.api.refresh();
  }

  /** Disconnects, revokes the refresh token (all of the user's with `all`) and forgets the session. */
  async logout(options: { all?: boolean; clearStore?: boolean } = {}): Promise<void> {
    this.disconnect();
    for (const room of [...this.rooms]) room.leave();
    try {
      await this.api.logout(options);
    } finally {
      if (options.clearStore) {
        const user = this.user;
        // The per-user state goes with the store: its receiver and rich state remember what was cleared.
        this.user = null;
        await user?.store.clear();
      }
    }
  }

  getUser(userId: string): Promise<User> {
    return this.api.getUser(userId);
  }

  getUsers(userIds: readonly string[]): Promise<User[]> {
    return this.api.getUsers(userIds);
  }

  /** Users by exact id, username prefix or nickname prefix. */
  searchUsers(keyword: string, options?: { offset?: number; limit?: number }): Promise<User[]> {
    return this.api.searchUsers(keyword, options);
  }

  /**
   * Searches the text messages this user may read (their conversations, from when they joined,
   * never revoked ones), newest first. Words are found inside sentences, Chinese and Japanese
   * included; each hit names its conversation and seq (`history` or `getMessages` around it) and
   * marks the words in its snippet.
   *
   * @example
   * const { hits, nextCursor } = await client.search("北京", { limit: 20 });
   * const more = nextCursor ? await client.search("北京", { cursor: nextCursor }) : null;
   */
  search(query: string, options?: SearchOptions): Promise<SearchPage> {
    return this.api
      .request("GET", `/api/messages/search?${searchQuery(query, options)}`)
      .then(readSearchPage);
  }

  // ---- offline push --------------------------------------------------------------------------

  /**
   * Registers this device's push token for the logged-in session: while no socket of the user is
   * live, messages reach the device as notifications (docs/PUSH.md). Registering again replaces the
   * session's token; `logout()` removes it. Resolves with the server's device id.
   *
   * @example
   * await client.registerPushToken({ provider: "apns", token: hexToken, appId: "com.example.chat" });
   */
  registerPushToken(registration: PushTokenRegistration): Promise<string> {
    return this.api.request("POST", "/api/push/devices", registrationBody(registration)).then(readDeviceId);
  }

  /** Stops notifications to this session's device (without logging out). */
  async unregisterPushToken(): Promise<void> {
    await this.api.request("POST", "/api/push/devices/unregister", {});
  }

  /** The user's push settings: previews, and the do-not-disturb window. */
  pushSettings(): Promise<PushSettings> {
    return this.api.request("GET", "/api/push/settings").then(readPushSettings);
  }

  /** Changes the push settings given (`quietHours: null` clears the window); answers them all. */
  setPushSettings(change: Partial<PushSettings>): Promise<PushSettings> {
    return this.api.request("POST", "/api/push/settings", change).then(readPushSettings);
  }

  // ---- chatrooms (docs/CHATROOMS.md) ---------------------------------------------------------

  /**
   * Creates a room; this user is its creator. An "open" room takes anyone signed in; a "token" room
   * only holders of a join token (`chatroomJoinToken`).
   *
   * @example
   * const room = await client.createChatroom({ name: "Launch day", access: "token" });
   * const { token } = await client.chatroomJoinToken(room.id); // share it with the guests
   */
  createChatroom(input: CreateChatroomInput): Promise<ChatroomInfo> {
    try {
      return this.api.request("POST", "/api/chatrooms", createBody(input)).then(readChatroom);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A room and its approximate listener count; rejects (IMHttpError 404) for an unknown or closed room. */
  chatroomInfo(roomId: string): Promise<ChatroomInfo> {
    try {
      return this.api.request("GET", roomPath(roomId)).then(readChatroom);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A join token for a "token" room (creator only); valid `ttlSeconds` (≤ 7 days, default 1 day). */
  chatroomJoinToken(roomId: string, options: { ttlSeconds?: number } = {}): Promise<ChatroomJoinToken> {
    try {
      const body = options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds };
      return this.api.request("POST", roomPath(roomId, "/tokens"), body).then(readJoinToken);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Closes a room (its creator only): every listener gets `closed`, later joins are refused. */
  async closeChatroom(roomId: string): Promise<void> {
    await this.api.request("DELETE", roomPath(roomId));
  }

  /**
   * Joins a room on its own socket; resolves once joined (with the room's recent messages on their
   * way as `message` events). The room then delivers every message once, in seq order, and comes
   * back by itself after a lost connection until `leave()` or the room's close.
   *
   * @example
   * const room = await client.joinChatroom(roomId, { joinToken });
   * room.on("message", (m) => show(m));
   * await room.send("hi all");
   */
  async joinChatroom(roomId: string, options: { joinToken?: string } = {}): Promise<Chatroom> {
    const userId = this.requireUserId();
    roomPath(roomId); // refuses an id that cannot name a room
    const o = this.options;
    const room: Chatroom = new Chatroom({
      roomId,
      joinToken: options.joinToken,
      userId,
      wsUrl: o.wsUrl,
      tokenTransport: o.tokenTransport,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      authTimeoutMs: o.authTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      reconnect: o.reconnect,
      ackTimeoutMs: o.ackTimeoutMs,
      maxResends: o.maxResends,
      createWebSocket: o.createWebSocket,
      hooks: o.hooks,
      token: () => this.api.freshToken(),
      probe: () => this.chatroomInfo(roomId),
      ended: (ended) => this.rooms.delete(ended),
    });
    this.rooms.add(room);
    await room.start();
    return room;
  }

  /** The rooms this client has joined and not left. */
  chatrooms(): Chatroom[] {
    return [...this.rooms];
  }

  // ---- realtime ------------------------------------------------------------------------------

  /**
   * Opens the socket, authenticates and catches up (batch sync); resolves when ready. Lost
   * connections come back by themselves until `disconnect()`; a refused auth or a kick rejects.
   */
  connect(): Promise<void> {
    if (!this.api.session) return Promise.reject(new IMConnectionError("log in (or useSession) first"));
    return this.connection.start();
  }

  /** Closes the socket and stops reconnecting; sends still waiting for their ack are rejected. */
  disconnect(): void {
    this.connection.stop("client disconnected");
    this.outbox.failAll("client disconnected");
  }

  /** The one-to-one conversation id with `userId`. */
  conversationWith(userId: string): string {
    return conversationWith(this.requireUserId(), userId);
  }

  /**
   * Sends a message; resolves once the server stored it. While offline it waits for the next
   * connect; without an ack it goes out again (same client_msg_id) up to `maxResends` times.
   */
  send(message: OutgoingMessage): Promise<SendResult> {
    try {
      if (message.replyTo || message.mentions?.length || message.mentionAll || message.forwardOf)
        this.requireRich();
      return this.outbox.send(toOutgoingInfo(this.requireUserId(), message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sendText(to: string, text: string): Promise<SendResult> {
    return this.send({ to, content: text });
  }

  /**
   * Uploads a file (POST /upload, with the session's token) and resolves with its download URL.
   * With `fileName` it goes as multipart and the URL keeps the name's extension; otherwise the
   * server guesses the extension from the bytes.
   *
   * @example
   * const file = await client.uploadFile(input.files[0], { fileName: input.files[0].name });
   */
  uploadFile(
    file: Blob | Uint8Array<ArrayBuffer>,
    options: { fileName?: string } = {},
  ): Promise<UploadedFile> {
    return this.api.upload(file instanceof Blob ? file : new Blob([file]), options.fileName);
  }

  /**
   * Sends an image message (type 2) whose content is the iOS SDK's IMImageMessageContent JSON.
   *
   * @example
   * const uploaded = await client.uploadFile(blob);
   * await client.sendImage({ to: bobId }, { ...uploaded, width: 640, height: 480 });
   */
  sendImage(
    target: MessageTarget,
    image: Pick<UploadedFile, "url" | "size"> & { width: number; height: number; thumbnailUrl?: string },
  ): Promise<SendResult> {
    return this.send({ ...target, messageType: MessageType.image, content: imageContent(image) });
  }

  /** Sends a file message (type 5) whose content is the iOS SDK's IMFileMessageContent JSON. */
  sendFile(
    target: MessageTarget,
    file: Pick<UploadedFile, "url" | "size"> & { fileName: string },
  ): Promise<SendResult> {
    return this.send({ ...target, messageType: MessageType.file, content: fileContent(file) });
  }

  /** Stored messages of a conversation, oldest first (see IMStore.getMessages). */
  getMessages(conversationId: string, options?: { beforeSeq?: number; limit?: number }): Promise<Message[]> {
    return this.bindUser().store.getMessages(conversationId, options);
  }

  /**
   * Older messages from the server (SYNC_RANGE backwards): the `limit` (default 30) before
   * `beforeSeq` (default: after the newest delivered), oldest first, with their current status.
   * Needs the socket; what it brings is written back to the store.
   */
  async history(
    conversationId: string,
    options?: { beforeSeq?: number; limit?: number },
  ): Promise<Message[]> {
    const { store } = this.bindUser();
    const syncRange = syncRangeOver(this.connection, this.options.syncPageSize);
    const cursor = (id: string) => this.cursors().get(id) ?? 0;
    return fetchHistory({ syncRange, store, cursor }, conversationId, options);
  }

  /** Each conversation's cursor: the highest seq delivered with nothing missing below. */
  cursors(): Map<string, number> {
    return this.user?.receiver.cursors() ?? new Map();
  }

  markRead(conversationId: string, serverMsgIds?: readonly string[]): Promise<void> {
    return this.signals.markRead(conversationId, serverMsgIds);
  }

  /** Revokes a message; once the server agreed, the store marks it too (the push goes to others). */
  async revoke(conversationId: string, serverMsgId: string): Promise<void> {
    await this.signals.revoke(conversationId, serverMsgId);
    await this.user?.store
      .markRevoked(conversationId, serverMsgId, this.requireUserId(), Date.now())
      .catch((error: unknown) =>
        this.emit("error", new IMError("invalid", 0, `store failed: ${String(error)}`)),
      );
  }

  // ---- rich messages (docs/RICH-MESSAGES.md) -------------------------------------------------

  /**
   * Forwards a message of a conversation this user belongs to into `target`: the server copies its
   * type, content, extra and attached info and marks the copy `forwardedFrom` its sender and time.
   *
   * @example
   * await client.forward({ conversationId: groupId }, { conversationId: m.conversationId, serverMsgId: m.serverMsgId });
   */
  forward(
    target: MessageTarget,
    source: { conversationId: string; serverMsgId: string },
    options: Pick<OutgoingMessage, "clientMsgId"> = {},
  ): Promise<SendResult> {
    return this.send({ ...target, ...options, content: "", forwardOf: source });
  }

  /**
   * Adds this user's reaction (`remove`: takes it back); resolves with the message's reactions.
   * Refused (IMProtocolError): not a member (ERR_PERMISSION_DENIED); an unknown or revoked message,
   * a bad emoji, too many (ERR_INVALID_PARAM).
   */
  async react(
    conversationId: string,
    serverMsgId: string,
    emoji: string,
    options: { remove?: boolean } = {},
  ): Promise<Reaction[]> {
    this.requireRich();
    const { reactions, modSeq } = await this.rich.react(
      conversationId,
      serverMsgId,
      emoji,
      options.remove ?? false,
    );
    await this.richState()?.ownChange(conversationId, serverMsgId, { reactions, modSeq });
    return reactions;
  }

  /**
   * Replaces the text of one's own text message (within the server's edit window, 48 h by default);
   * everyone who has it sees the new text marked edited. Refused: another's message or past the
   * window (ERR_PERMISSION_DENIED); revoked, not text, empty, too long, too many edits (ERR_INVALID_PARAM).
   */
  async edit(
    conversationId: string,
    serverMsgId: string,
    text: string,
  ): Promise<{ editedTime: number; editCount: number }> {
    this.requireRich();
    const { editedTime, editCount, modSeq } = await this.rich.edit(conversationId, serverMsgId, text);
    const content = new TextEncoder().encode(text);
    const change = { content, text, editedTime, editCount, modSeq };
    await this.richState()?.ownChange(conversationId, serverMsgId, change);
    return { editedTime, editCount };
  }

  /** Pins a message (group owners and admins; both sides of a one-to-one); resolves with the pinned list. */
  async pin(conversationId: string, serverMsgId: string): Promise<PinnedMessage[]> {
    this.requireRich();
    const { pins, modSeq } = await this.rich.pin(conversationId, serverMsgId, false);
    await this.richState()?.ownPins(conversationId, pins, modSeq);
    return pins;
  }

  async unpin(conversationId: string, serverMsgId: string): Promise<PinnedMessage[]> {
    this.requireRich();
    const { pins, modSeq } = await this.rich.pin(conversationId, serverMsgId, true);
    await this.richState()?.ownPins(conversationId, pins, modSeq);
    return pins;
  }

  /** A conversation's pinned list as the store last heard it (pushes, sync, one's own pins), newest first. */
  pins(conversationId: string): Promise<PinnedMessage[]> {
    return this.bindUser().store.loadPins(conversationId);
  }

  /**
   * The replies quoting a message (its thread), oldest first, from the server: `limit` (1–100,
   * default 50) after `afterSeq`; `hasMore` says to ask again from the last reply's seq.
   */
  thread(
    conversationId: string,
    rootServerMsgId: string,
    options: { afterSeq?: number; limit?: number } = {},
  ): Promise<ThreadPage> {
    try {
      this.requireRich();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.rich.thread(conversationId, rootServerMsgId, options);
  }

  /** An edited message's earlier contents, oldest first (the message holds the current one). */
  editHistory(conversationId: string, serverMsgId: string): Promise<MessageVersion[]> {
    try {
      this.requireRich();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.rich.editHistory(conversationId, serverMsgId);
  }

  /** Typing indicator; "typing" is sent at most once per 5 s per conversation. False when not sent. */
  setTyping(conversationId: string, typing: boolean): boolean {
    return this.signals.setTyping(conversationId, typing);
  }

  getPresence(userIds: readonly string[]): Promise<PresenceEvent[]> {
    return this.signals.presence(userIds);
  }

  // ---- wiring --------------------------------------------------------------------------------

  protected override onListenerError(event: keyof IMEvents, error: unknown): void {
    if (event === "error") return super.onListenerError(event, error);
    this.emit(
      "error",
      new IMError("invalid", 0, `a "${String(event)}" listener threw: ${String(error)}`, { cause: error }),
    );
  }

  private requireUserId(): string {
    const id = this.userId;
    if (!id) throw new IMConnectionError("log in (or useSession) first");
    return id;
  }

  /** Refuses a rich call locally when the server said it does not serve rich messages. */
  private requireRich(): void {
    if (this.richServed === false)
      throw new IMError(
        "invalid",
        0,
        "this server does not serve rich messages (its AUTH_RSP did not list rich_messages)",
      );
  }

  /** The rich state of the bound user (none before the first bind: nothing stored to change yet). */
  private richState(): RichState | null {
    return this.user?.rich ?? null;
  }

  /** The per-user state for the session's user, made when it changes. */
  private bindUser(): UserState {
    const id = this.requireUserId();
    if (this.user?.id === id) return this.user;
    if (this.user) this.outbox.failAll("another user logged in");
    const store = this.options.store(id);
    const receiver = new Receiver({
      store,
      userId: () => id,
      batchSync: batchSyncOver(this.connection, this.options.syncPageSize),
      syncRange: syncRangeOver(this.connection, this.options.syncPageSize),
      ack: (m) =>
        this.connection.transmit(Cmd.CMD_MSG_ACK, pb.MessageAck, { serverMsgId: m.serverMsgId, seq: m.seq }),
      delivered: (batch) => {
        for (const m of batch.messages) this.emit("message", m);
        this.emit("messages", batch);
        void rich.delivered(batch.conversationId, batch.messages);
      },
      synced: (summary) => this.emit("synced", summary),
      error: (error) => this.emit("error", error),
    });
    const rich = new RichState({
      store,
      changes: (conversationId, afterModSeq, options) =>
        this.rich.changes(conversationId, afterModSeq, options),
      cursor: (conversationId) => receiver.cursor(conversationId),
      updated: (message) => this.emit("updated", message),
      pins: (event) => this.emit("pins", event),
      error: (error) => this.emit("error", error),
    });
    this.user = { id, store, receiver, rich };
    return this.user;
  }

  private async credentials(expired: boolean): Promise<{ userId: string; token: string }> {
    const token = expired ? (await this.api.refresh()).token : await this.api.freshToken();
    return { userId: this.requireUserId(), token };
  }

  private async onReady(_maxSeq: number, features: readonly string[]): Promise<void> {
    const { receiver, rich } = this.bindUser();
    this.richServed = features.includes(RICH_MESSAGES);
    this.outbox.resume();
    // The conversations the store knew before this sync: any other is new to it (see catchUp).
    await receiver.load();
    const known = new Set(receiver.cursors().keys());
    const modSeqs = await receiver.batchSync();
    if (!this.richServed) return;
    try {
      await rich.catchUp(modSeqs, known);
    } catch (error) {
      if (error instanceof IMError && (error.kind === "connection" || error.kind === "timeout")) throw error;
      this.emit("error", error instanceof IMError ? error : new IMError("protocol", 0, String(error)));
    }
  }

  /**
   * One of this client's sends was stored. A reply's quote and a forward's content are filled in by
   * the server, so such a message is read back (SYNC_RANGE of its seq) before it enters the
   * timeline; if that fails, it enters as sent. A push after it fills any wait by itself.
   */
  private onAcked(sent: Outgoing, result: SendResult): void {
    const receiver = this.user?.receiver;
    if (!receiver) return;
    const local = ackedMessage(sent, result);
    if (!isFilledByServer(sent) || !this.richServed) return receiver.accept([local], false);
    syncRangeOver(this.connection, 1)(result.conversationId, result.seq, result.seq).then(
      (page) => {
        const stored = page.messages.find((m) => m.serverMsgId === result.serverMsgId);
        // The ack's view of it: this send's client_msg_id and status, whatever the sync answer says.
        const own = stored ? { ...stored, clientMsgId: local.clientMsgId, status: local.status } : local;
        receiver.accept([own], false);
      },
      () => receiver.accept([local], false),
    );
  }

  /** A frame no request waited for. A body that does not decode is reported, never thrown at the socket. */
  private onFrame(frame: Frame): void {
    try {
      this.dispatch(frame);
    } catch (error) {
      this.emit("error", new IMError("protocol", 0, `bad frame ${frame.command}: ${String(error)}`));
    }
  }

  private dispatch(frame: Frame): void {
    const receiver = this.user?.receiver;
    switch (frame.command) {
      case Cmd.CMD_PUSH_MSG: {
        const message = pb.PushMessage.decode(frame.body).message;
        if (message) receiver?.accept([toMessage(message)], true);
        return;
      }
      case Cmd.CMD_BATCH_MSG: {
        const pushes = pb.BatchMessages.decode(frame.body).messages;
        receiver?.accept(
          pushes.flatMap((p) => (p.message ? [toMessage(p.message)] : [])),
          true,
        );
        return;
      }
      case Cmd.CMD_SEND_MSG_RSP:
        return this.outbox.handle(pb.SendMessageResponse.decode(frame.body));
      case Cmd.CMD_MESSAGE_UPDATED_PUSH: {
        const message = pb.MessageUpdatedPush.decode(frame.body).message;
        if (message) void this.user?.rich.messageUpdated(toMessage(message));
        return;
      }
      case Cmd.CMD_PINS_PUSH: {
        const push = pb.PinsPush.decode(frame.body);
        void this.user?.rich.pinsPushed(push.conversationId, toPins(push.pins), Number(push.modSeq));
        return;
      }
      default:
        dispatchSignal(frame, {
          receipt: (e) => this.emit("receipt", e),
          revoke: (e) => {
            this.user?.store
              .markRevoked(e.conversationId, e.serverMsgId, e.revokedBy, e.revokedTime)
              .catch((error: unknown) =>
                this.emit("error", new IMError("invalid", 0, `store failed: ${String(error)}`)),
              );
            this.emit("revoke", e);
          },
          typing: (e) => this.emit("typing", e),
          presence: (e) => this.emit("presence", e),
        });
    }
  }
}
