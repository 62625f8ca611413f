// Keeps the store's rich state current: message changes pushed live (MESSAGE_UPDATED_PUSH), pinned
// lists (PINS_PUSH), this client's own reactions, edits and pins once answered, and after each
// sync the CHANGES_REQ pages of every conversation whose change number is ahead of the store's.
import { IMError } from "./errors.ts";
import { AppliedChanges, changeOf, type MessageChange } from "./rich-updates.ts";
import type { ChangesRequest } from "./rich-requests.ts";
import type { IMStore } from "./store.ts";
import type { Message, PinnedMessage, PinsEvent } from "./types.ts";

/** Conversations caught up at once after a sync. */
export const CATCH_UP_CONCURRENCY = 4;

export interface RichStateDeps {
  store: IMStore;
  changes: ChangesRequest;
  updated(message: Message): void;
  pins(event: PinsEvent): void;
  error(error: IMError): void;
}

export class RichState {
  private applied: AppliedChanges | null = null;
  private loading: Promise<AppliedChanges> | null = null;
  private readonly deps: RichStateDeps;

  constructor(deps: RichStateDeps) {
    this.deps = deps;
  }

  /** The applied change numbers, read from the store once. */
  private load(): Promise<AppliedChanges> {
    this.loading ??= this.deps.store
      .loadModSeqs()
      .then((stored) => (this.applied = new AppliedChanges(stored)));
    return this.loading;
  }

  /** The newest change applied to a conversation (0 before anything was). */
  async modSeq(conversationId: string): Promise<number> {
    return (await this.load()).get(conversationId);
  }

  /**
   * A message's current state, pushed. Stored: replaced (read state kept) and emitted. Not stored
   * (older than the store keeps, or not synced yet): emitted as it came, for a view showing it; the
   * change number then stays where it is, so the next sync asks CHANGES for it again.
   */
  async messageUpdated(message: Message): Promise<void> {
    const applied = await this.load();
    const stored = await this.update(message.conversationId, message.serverMsgId, changeOf(message));
    if (stored && applied.advanceByOne(message.conversationId, message.modSeq))
      await this.saveModSeq(message.conversationId, message.modSeq);
    this.deps.updated(stored ?? message);
  }

  /** A conversation's whole pinned list, pushed with its change number. */
  async pinsPushed(conversationId: string, pins: readonly PinnedMessage[], modSeq: number): Promise<void> {
    const applied = await this.load();
    await this.savePins(conversationId, pins);
    if (applied.advanceByOne(conversationId, modSeq)) await this.saveModSeq(conversationId, modSeq);
  }

  /** This client's own change, once answered (the answer has no change number: the next sync confirms it). */
  async ownChange(
    conversationId: string,
    serverMsgId: string,
    change: MessageChange,
  ): Promise<Message | null> {
    const stored = await this.update(conversationId, serverMsgId, change);
    if (stored) this.deps.updated(stored);
    return stored;
  }

  /** This client's own pin or unpin, once answered with the whole list. */
  async ownPins(conversationId: string, pins: readonly PinnedMessage[]): Promise<void> {
    await this.savePins(conversationId, pins);
  }

  /**
   * After a sync: for each conversation whose change number (`server`, from BATCH_SYNC) is above
   * the applied one, CHANGES_REQ from the applied one, page after page while has_more, applying
   * the messages and the pinned list. A lost connection rethrows (the reconnect's sync asks again).
   */
  async catchUp(server: ReadonlyMap<string, number>): Promise<{ conversations: number; messages: number }> {
    const applied = await this.load();
    const behind = applied.behind(server);
    let messages = 0;
    let next = 0;
    // A few conversations at a time: a new device may have many behind, each a round trip or more.
    const worker = async () => {
      while (next < behind.length) {
        const { conversationId, afterModSeq } = behind[next++]!;
        messages += await this.catchUpOne(applied, conversationId, afterModSeq);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CATCH_UP_CONCURRENCY, behind.length) }, worker));
    return { conversations: behind.length, messages };
  }

  /** One conversation's CHANGES pages from `afterModSeq` until !has_more; resolves with the messages applied. */
  private async catchUpOne(
    applied: AppliedChanges,
    conversationId: string,
    afterModSeq: number,
  ): Promise<number> {
    let messages = 0;
    let from = afterModSeq;
    for (;;) {
      const page = await this.deps.changes(conversationId, from);
      for (const m of page.messages) {
        const stored = await this.update(conversationId, m.serverMsgId, changeOf(m));
        if (stored) this.deps.updated(stored);
        messages++;
      }
      if (page.pins) await this.savePins(conversationId, page.pins);
      if (applied.advanceTo(conversationId, page.modSeq)) await this.saveModSeq(conversationId, page.modSeq);
      if (!page.hasMore) return messages;
      if (page.modSeq <= from) {
        this.deps.error(new IMError("protocol", 0, `changes of ${conversationId} made no progress`));
        return messages;
      }
      from = page.modSeq;
    }
  }

  private async update(
    conversationId: string,
    serverMsgId: string,
    change: MessageChange,
  ): Promise<Message | null> {
    try {
      return await this.deps.store.updateMessage(conversationId, serverMsgId, change);
    } catch (error) {
      this.deps.error(new IMError("invalid", 0, `store failed: ${String(error)}`, { cause: error }));
      return null;
    }
  }

  private async savePins(conversationId: string, pins: readonly PinnedMessage[]): Promise<void> {
    try {
      await this.deps.store.savePins(conversationId, pins);
    } catch (error) {
      this.deps.error(new IMError("invalid", 0, `store failed: ${String(error)}`, { cause: error }));
    }
    this.deps.pins({ conversationId, pins: [...pins] });
  }

  private async saveModSeq(conversationId: string, modSeq: number): Promise<void> {
    try {
      await this.deps.store.saveModSeq(conversationId, modSeq);
    } catch (error) {
      this.deps.error(new IMError("invalid", 0, `store failed: ${String(error)}`, { cause: error }));
    }
  }
}
