// The chatrooms this page has joined: each room's Chatroom, the messages it delivered (the newest
// ROOM_MESSAGES_KEPT), its details, and for a token room this user created, the join token to share.
import type {
  Chatroom,
  ChatroomAccess,
  ChatroomInfo,
  ChatroomJoinToken,
  ChatroomMessage,
  IMClient,
} from "edge-im/client";

/** Messages a room keeps on the page; older ones scroll away for good (a room has no history view). */
export const ROOM_MESSAGES_KEPT = 500;

export interface JoinedRoom {
  id: string;
  room: Chatroom;
  /** From GET /api/chatrooms/:id (or the create); null until it answered. */
  info: ChatroomInfo | null;
  messages: ChatroomMessage[];
  /** The latest join token this user made for it (creator of a token room only). */
  joinToken: ChatroomJoinToken | null;
  online: boolean;
}

export interface RoomEvents {
  /** A room's messages, details or connection changed. */
  changed(roomId: string): void;
  /** A room ended for this page (left, closed by its creator, refused). */
  ended(roomId: string, reason: string, message: string): void;
}

export class Rooms {
  private readonly joined = new Map<string, JoinedRoom>();
  private readonly client: IMClient;
  private readonly on: RoomEvents;

  constructor(client: IMClient, on: RoomEvents) {
    this.client = client;
    this.on = on;
  }

  get(roomId: string): JoinedRoom | undefined {
    return this.joined.get(roomId);
  }

  list(): JoinedRoom[] {
    return [...this.joined.values()];
  }

  /** Creates a room, joins it, and for a token room makes the first join token to share. */
  async create(name: string, access: ChatroomAccess): Promise<JoinedRoom> {
    const info = await this.client.createChatroom({ name, access });
    const joinToken = access === "token" ? await this.client.chatroomJoinToken(info.id) : null;
    const entry = await this.join(info.id, joinToken?.token);
    entry.info = info;
    entry.joinToken = joinToken;
    this.on.changed(info.id);
    return entry;
  }

  /** Joins (or finds the room already joined); the room's details follow when they arrive. */
  async join(roomId: string, joinToken?: string): Promise<JoinedRoom> {
    const found = this.joined.get(roomId);
    if (found) return found;
    const room = await this.client.joinChatroom(roomId, { joinToken });
    const entry: JoinedRoom = { id: roomId, room, info: null, messages: [], joinToken: null, online: true };
    this.joined.set(roomId, entry);
    room.on("messages", (messages) => {
      entry.messages.push(...messages);
      if (entry.messages.length > ROOM_MESSAGES_KEPT)
        entry.messages.splice(0, entry.messages.length - ROOM_MESSAGES_KEPT);
      this.on.changed(roomId);
    });
    room.on("joined", () => {
      entry.online = true;
      this.on.changed(roomId);
    });
    room.on("disconnected", () => {
      entry.online = false;
      this.on.changed(roomId);
    });
    room.on("closed", ({ reason, message }) => {
      this.joined.delete(roomId);
      this.on.ended(roomId, reason, message);
    });
    room.on("error", (e) => console.warn(`edge-im room ${roomId}: ${e.message}`));
    this.client.chatroomInfo(roomId).then(
      (info) => {
        entry.info ??= info;
        this.on.changed(roomId);
      },
      () => undefined, // the header shows the name from the join meanwhile
    );
    return entry;
  }

  /** A new join token (creator only), kept to show. */
  async newToken(roomId: string): Promise<ChatroomJoinToken> {
    const token = await this.client.chatroomJoinToken(roomId);
    const entry = this.joined.get(roomId);
    if (entry) {
      entry.joinToken = token;
      this.on.changed(roomId);
    }
    return token;
  }

  leave(roomId: string): void {
    this.joined.get(roomId)?.room.leave();
  }

  /** Closes the room for everyone (its creator): each listener, this page too, hears `closed`. */
  close(roomId: string): Promise<void> {
    return this.client.closeChatroom(roomId);
  }

  leaveAll(): void {
    for (const entry of this.list()) entry.room.leave();
  }
}
