// The pluggable cursor and message store (IMStore) and its in-memory default (MemoryStore).
import { applyChange, newerCopy, type MessageChange } from "./rich-updates.ts";
import type { Message, PinnedMessage } from "./types.ts";

/**
 * A cursor and message store. The client calls `saveMessages` with each contiguous batch before it
 * emits it, so after a restart `loadCursors` tells the first batch sync where every conversation
 * stopped. Implementations must keep a batch and its cursor together (one transaction where they can).
 */
export interface IMStore {
  /** Every conversation's cursor. */
  loadCursors(): Promise<Map<string, number>>;
  /**
   * Stores messages (in seq order) and moves the conversation's cursor up to `cursor` (never down).
   * Delivery appends contiguous batches above the old cursor; `history` writes older pages back,
   * which replace any stored message with the same seq, except that a stored copy holding a newer
   * change (higher `modSeq`) keeps its rich state (`newerCopy`).
   */
  saveMessages(conversationId: string, messages: readonly Message[], cursor: number): Promise<void>;
  /** The newest messages before `beforeSeq` (all when omitted), oldest first. */
  getMessages(conversationId: string, options?: { beforeSeq?: number; limit?: number }): Promise<Message[]>;
  /** Marks a stored message revoked and drops its content (a revoke push). */
  markRevoked(
    conversationId: string,
    serverMsgId: string,
    revokedBy: string,
    revokedTime: number,
  ): Promise<void>;
  /**
   * Applies a change (an edit, reactions, a revoke… see rich-updates.ts) to a stored message,
   * keeping its read state; resolves with the message as now stored (unchanged when it already
   * holds a newer change), or null when it is not stored.
   */
  updateMessage(conversationId: string, serverMsgId: string, change: MessageChange): Promise<Message | null>;
  /** Every conversation's newest change number applied (rich messages' CHANGES_REQ starts there). */
  loadModSeqs(): Promise<Map<string, number>>;
  /** Moves a conversation's applied change number up to `modSeq` (never down). */
  saveModSeq(conversationId: string, modSeq: number): Promise<void>;
  /** A conversation's pinned list as last known (newest pin first); empty when none is known. */
  loadPins(conversationId: string): Promise<PinnedMessage[]>;
  savePins(conversationId: string, pins: readonly PinnedMessage[]): Promise<void>;
  /** Forgets everything (logout). */
  clear(): Promise<void>;
}

/** A store that lives as long as the page or process; the default. */
export class MemoryStore implements IMStore {
  private readonly cursors = new Map<string, number>();
  private readonly messages = new Map<string, Message[]>();
  private readonly modSeqs = new Map<string, number>();
  private readonly pins = new Map<string, PinnedMessage[]>();
  private readonly limit: number;

  /** Keeps at most `limitPerConversation` messages per conversation (the newest); cursors are kept whole. */
  constructor(options: { limitPerConversation?: number } = {}) {
    this.limit = options.limitPerConversation ?? 1_000;
  }

  async loadCursors(): Promise<Map<string, number>> {
    return new Map(this.cursors);
  }

  async saveMessages(conversationId: string, messages: readonly Message[], cursor: number): Promise<void> {
    const list = this.messages.get(conversationId) ?? [];
    const first = messages[0];
    const last = list[list.length - 1];
    if (!first || !last || first.seq > last.seq) list.push(...messages);
    else this.merge(list, messages); // an older page from history
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    this.messages.set(conversationId, list);
    this.cursors.set(conversationId, Math.max(cursor, this.cursors.get(conversationId) ?? 0));
  }

  /** Puts `messages` into `list` by seq, replacing those with the same seq (a newer stored change kept). */
  private merge(list: Message[], messages: readonly Message[]): void {
    const bySeq = new Map(list.map((m) => [m.seq, m]));
    for (const m of messages) bySeq.set(m.seq, newerCopy(bySeq.get(m.seq), m));
    const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    list.splice(0, list.length, ...merged);
  }

  async getMessages(
    conversationId: string,
    options: { beforeSeq?: number; limit?: number } = {},
  ): Promise<Message[]> {
    const before = options.beforeSeq ?? Infinity;
    const list = (this.messages.get(conversationId) ?? []).filter((m) => m.seq < before);
    return list.slice(Math.max(0, list.length - (options.limit ?? list.length)));
  }

  async markRevoked(
    conversationId: string,
    serverMsgId: string,
    revokedBy: string,
    revokedTime: number,
  ): Promise<void> {
    const list = this.messages.get(conversationId);
    const i = list?.findIndex((m) => m.serverMsgId === serverMsgId) ?? -1;
    const found = list?.[i];
    if (!list || !found) return;
    list[i] = { ...found, isRevoked: true, revokedBy, revokedTime, content: new Uint8Array(), text: "" };
  }

  async updateMessage(
    conversationId: string,
    serverMsgId: string,
    change: MessageChange,
  ): Promise<Message | null> {
    const list = this.messages.get(conversationId);
    const i = list?.findIndex((m) => m.serverMsgId === serverMsgId) ?? -1;
    const found = list?.[i];
    if (!list || !found) return null;
    const updated = applyChange(found, change);
    if (updated) list[i] = updated;
    return updated ?? found;
  }

  async loadModSeqs(): Promise<Map<string, number>> {
    return new Map(this.modSeqs);
  }

  async saveModSeq(conversationId: string, modSeq: number): Promise<void> {
    this.modSeqs.set(conversationId, Math.max(modSeq, this.modSeqs.get(conversationId) ?? 0));
  }

  async loadPins(conversationId: string): Promise<PinnedMessage[]> {
    return [...(this.pins.get(conversationId) ?? [])];
  }

  async savePins(conversationId: string, pins: readonly PinnedMessage[]): Promise<void> {
    this.pins.set(conversationId, [...pins]);
  }

  async clear(): Promise<void> {
    this.cursors.clear();
    this.messages.clear();
    this.modSeqs.clear();
    this.pins.clear();
  }
}
