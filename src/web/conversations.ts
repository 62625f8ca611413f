// The conversation list as the page keeps it: rows from the server's list, moved forward by the
// messages that arrive, with unread derived as maxSeq − readSeq (as the server does).
import type { Conversation, Message } from "edge-im/client";

export interface LastMessage {
  serverMsgId: string;
  senderId: string;
  messageType: number;
  text: string;
  isRevoked: boolean;
  seq: number;
  time: number;
}

export interface ConversationRow {
  id: string;
  /** 1 single, 2 group, 4 system. */
  type: number;
  peerId: string;
  groupId: string;
  last: LastMessage | null;
  time: number;
  maxSeq: number;
  readSeq: number;
  pinned: boolean;
  muted: boolean;
  /** Highest seq the others have read (anyone, in a group): up to it, one's own messages are ✓✓. */
  peerRead: number;
  /** Someone mentioned this user (or everyone) in a message not read yet. */
  mentioned: boolean;
}

export function unread(row: ConversationRow): number {
  return Math.max(0, row.maxSeq - row.readSeq);
}

function emptyRow(id: string): ConversationRow {
  const [kind = "", a = ""] = id.split("_");
  return {
    id,
    type: kind === "single" ? 1 : kind === "group" ? 2 : kind === "system" ? 4 : 3,
    peerId: "",
    groupId: kind === "group" ? a : "",
    last: null,
    time: 0,
    maxSeq: 0,
    readSeq: 0,
    pinned: false,
    muted: false,
    peerRead: 0,
    mentioned: false,
  };
}

export class ConversationList {
  private readonly rows = new Map<string, ConversationRow>();
  private readonly me: string;

  constructor(me: string) {
    this.me = me;
  }

  get(id: string): ConversationRow | undefined {
    return this.rows.get(id);
  }

  /** A row for `id`, made empty when new (a chat opened before its first message). */
  ensure(id: string): ConversationRow {
    let row = this.rows.get(id);
    if (!row) {
      row = emptyRow(id);
      if (row.type === 1) row.peerId = id.split("_").find((part, i) => i > 0 && part !== this.me) ?? "";
      this.rows.set(id, row);
    }
    return row;
  }

  /** Takes the server's rows; seqs only move forward, so a list older than a push loses nothing. */
  fromServer(list: readonly Conversation[]): void {
    for (const c of list) {
      const row = this.ensure(c.conversationID);
      row.maxSeq = Math.max(row.maxSeq, c.maxSeq);
      row.readSeq = Math.max(row.readSeq, c.readSeq);
      row.pinned = c.isPinned;
      row.muted = c.isMuted;
      row.mentioned = c.mentioned && row.readSeq < row.maxSeq;
      const m = c.latestMessage;
      if (m && m.seq >= (row.last?.seq ?? 0)) {
        row.last = { ...m, time: m.sendTime };
        row.time = Math.max(row.time, m.sendTime || c.latestMsgSendTime);
      }
    }
  }

  /** Messages delivered in a conversation (in seq order); one's own count as read. */
  addMessages(id: string, messages: readonly Message[]): ConversationRow {
    const row = this.ensure(id);
    for (const m of messages) {
      row.maxSeq = Math.max(row.maxSeq, m.seq);
      if (m.senderId === this.me) row.readSeq = Math.max(row.readSeq, m.seq);
      else if (m.seq > row.readSeq && (m.mentionAll || m.mentions.includes(this.me))) row.mentioned = true;
      if (m.seq >= (row.last?.seq ?? 0)) {
        row.last = {
          serverMsgId: m.serverMsgId,
          senderId: m.senderId,
          messageType: m.messageType,
          text: m.text,
          isRevoked: m.isRevoked,
          seq: m.seq,
          time: m.serverTime || m.sendTime,
        };
        row.time = Math.max(row.time, row.last.time);
      }
    }
    return row;
  }

  markRead(id: string, upTo?: number): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.readSeq = Math.max(row.readSeq, upTo ?? row.maxSeq);
    if (row.readSeq >= row.maxSeq) row.mentioned = false;
  }

  /** A message's text changed (an edit): the row shows the new text when it is the last one. */
  edited(id: string, serverMsgId: string, text: string): void {
    const row = this.rows.get(id);
    if (row?.last && row.last.serverMsgId === serverMsgId) row.last = { ...row.last, text };
  }

  /** Someone else read up to `seq`. */
  peerReadUpTo(id: string, seq: number): void {
    const row = this.rows.get(id);
    if (row) row.peerRead = Math.max(row.peerRead, seq);
  }

  revoked(id: string, serverMsgId: string): void {
    const row = this.rows.get(id);
    if (row?.last && row.last.serverMsgId === serverMsgId)
      row.last = { ...row.last, isRevoked: true, text: "" };
  }

  /** Chats to show: not system ones, with a message or pinned; pinned first, then newest first. */
  visible(): ConversationRow[] {
    return [...this.rows.values()]
      .filter((row) => (row.type === 1 || row.type === 2) && (row.last !== null || row.pinned))
      .sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.time - a.time);
  }

  totalUnread(): number {
    return this.visible().reduce((sum, row) => sum + (row.muted ? 0 : unread(row)), 0);
  }
}
