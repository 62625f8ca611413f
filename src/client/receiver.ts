// The receive path: dedup, per-conversation ordering, the batch-sync loop, held pushes and MSG_ACK.
import type { ConversationMessages } from "../protocol/codec.ts";
import { ConversationStream, type Incoming } from "./conversation-stream.ts";
import { IMError } from "./errors.ts";
import { toMessage } from "./message.ts";
import type { IMStore } from "./store.ts";
import type { BatchSync, SyncRange } from "./sync-requests.ts";
import type { Message, MessageBatch } from "./types.ts";

/** Server message ids remembered for dedup; older duplicates are still caught by the seq cursor. */
export const SEEN_IDS_LIMIT = 10_000;

export interface ReceiverDeps {
  store: IMStore;
  userId: () => string;
  batchSync: BatchSync;
  syncRange: SyncRange;
  /** MSG_ACK for a pushed message, once delivered. */
  ack(message: Message): void;
  delivered(batch: MessageBatch): void;
  synced(summary: { rounds: number; messages: number }): void;
  error(error: IMError): void;
}

/**
 * Takes pushes and this client's acked sends, and delivers every message exactly once and in seq
 * order per conversation. After every (re)auth it batch-syncs from the cursors, page after page
 * while any conversation has more, holding pushes back until the sync is done.
 */
export class Receiver {
  private readonly streams = new Map<string, ConversationStream>();
  private readonly seen = new Set<string>();
  /** Messages that arrived while a batch sync runs (or before the first one): released after it. */
  private held: Incoming[] | null = [];
  private loaded: Promise<void> | null = null;
  private readonly deps: ReceiverDeps;

  constructor(deps: ReceiverDeps) {
    this.deps = deps;
  }

  /** Each known conversation's cursor. */
  cursors(): Map<string, number> {
    return new Map([...this.streams].map(([id, stream]) => [id, stream.cursor]));
  }

  /** One conversation's cursor (0 when unknown). */
  cursor(conversationId: string): number {
    return this.streams.get(conversationId)?.cursor ?? 0;
  }

  /** Reads the stored cursors once, before the first sync. */
  load(): Promise<void> {
    this.loaded ??= this.deps.store.loadCursors().then((cursors) => {
      for (const [id, cursor] of cursors) if (!this.streams.has(id)) this.stream(id, cursor);
    });
    return this.loaded;
  }

  /** Pushed messages (PUSH_MSG, BATCH_MSG) or this client's own acked sends. */
  accept(messages: readonly Message[], pushed: boolean): void {
    const items = messages
      .filter((message) => message.conversationId && message.seq > 0 && !this.seen.has(message.serverMsgId))
      .map((message) => ({ message, pushed }));
    if (this.held) this.held.push(...items);
    else this.route(items);
  }

  /**
   * BATCH_SYNC from the cursors until no conversation has more. A lost connection rethrows (the
   * reconnect syncs again, pushes stay held); any other failure is reported and delivery goes on.
   * Resolves with each conversation's change number as the answers gave it (rich_messages sockets;
   * absent otherwise), for the caller to ask what changed.
   */
  async batchSync(): Promise<Map<string, number>> {
    this.held ??= [];
    await this.load();
    const modSeqs = new Map<string, number>();
    try {
      let rounds = 0;
      let messages = 0;
      for (;;) {
        rounds++;
        const listed = this.cursors();
        const states = [...listed].map(([conversationId, lastSeq]) => ({ conversationId, lastSeq }));
        const pages = await this.deps.batchSync(states);
        for (const page of pages) {
          const id = page.conversationId ?? "";
          const modSeq = Number(page.modSeq ?? 0);
          if (id && modSeq > (modSeqs.get(id) ?? 0)) modSeqs.set(id, modSeq);
        }
        const results = await Promise.all(pages.map((page) => this.applyPage(page, listed)));
        messages += results.reduce((sum, r) => sum + r.delivered, 0);
        if (!results.some((r) => r.more)) break;
        if (!results.some((r) => r.delivered > 0))
          throw new IMError("protocol", 0, "batch sync made no progress");
      }
      this.deps.synced({ rounds, messages });
    } catch (error) {
      if (error instanceof IMError && (error.kind === "connection" || error.kind === "timeout")) throw error;
      this.deps.error(error instanceof IMError ? error : new IMError("protocol", 0, String(error)));
    }
    const held = this.held ?? [];
    this.held = null;
    this.route(held);
    return modSeqs;
  }

  private async applyPage(
    page: ConversationMessages,
    listed: Map<string, number>,
  ): Promise<{ delivered: number; more: boolean }> {
    const id = page.conversationId ?? "";
    if (!id) return { delivered: 0, more: false };
    const messages = (page.messages ?? []).map(toMessage);
    const isListed = listed.has(id);
    // A conversation this client did not list comes back as its newest messages: start just before them.
    const first = messages[0];
    const start = first ? first.seq - 1 : Number(page.syncedSeq ?? 0);
    const stream = this.streams.get(id) ?? this.stream(id, start);
    const before = stream.cursor;
    await stream.offer(messages.map((message) => ({ message, pushed: false })));
    return { delivered: stream.cursor - before, more: isListed && page.hasMore === true };
  }

  private route(items: readonly Incoming[]): void {
    const byConversation = new Map<string, Incoming[]>();
    for (const item of items) {
      const id = item.message.conversationId;
      const list = byConversation.get(id);
      if (list) list.push(item);
      else byConversation.set(id, [item]);
    }
    for (const [id, batch] of byConversation) void (this.streams.get(id) ?? this.stream(id, 0)).offer(batch);
  }

  private stream(id: string, cursor: number): ConversationStream {
    const stream = new ConversationStream(id, cursor, {
      fetchRange: (conversationId, startSeq, endSeq) => this.deps.syncRange(conversationId, startSeq, endSeq),
      deliver: (conversationId, batch, position) => this.deliver(conversationId, batch, position),
      gapFailed: (_conversationId, error) => {
        if (error instanceof IMError && error.kind === "connection") return; // the resync fills it
        this.deps.error(error instanceof IMError ? error : new IMError("protocol", 0, String(error)));
      },
    });
    this.streams.set(id, stream);
    return stream;
  }

  private async deliver(conversationId: string, batch: Incoming[], cursor: number): Promise<void> {
    const messages = batch.map((item) => item.message);
    try {
      await this.deps.store.saveMessages(conversationId, messages, cursor);
    } catch (error) {
      this.deps.error(new IMError("invalid", 0, `store failed: ${String(error)}`, { cause: error }));
    }
    for (const m of messages) this.remember(m.serverMsgId);
    this.deps.delivered({ conversationId, messages });
    const me = this.deps.userId();
    for (const item of batch) if (item.pushed && item.message.senderId !== me) this.deps.ack(item.message);
  }

  private remember(serverMsgId: string): void {
    this.seen.add(serverMsgId);
    if (this.seen.size > SEEN_IDS_LIMIT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
