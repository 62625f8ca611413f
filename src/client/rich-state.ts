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

/** Pushed changes held for messages not delivered yet (all conversations); past it, the next sync's CHANGES brings them. */
export const MAX_HELD_UPDATES = 1_000;

export interface RichStateDeps {
  store: IMStore;
  changes: ChangesRequest;
  /** The conversation's cursor: the highest seq delivered with nothing missing below (0: none yet). */
  cursor(conversationId: string): number;
  updated(message: Message): void;
  pins(event: PinsEvent): void;
  error(error: IMError): void;
}

export class RichState {
  private applied: AppliedChanges | null = null;
  private loading: Promise<AppliedChanges> | null = null;
  /**
   * The change number each known pinned list stands at (a push's, an answer's, a CHANGES page's).
   * A list older than the known one is refused: a CHANGES page read before a pin can arrive after
   * its push. Unknown: the applied change number is a floor (every change up to it was applied).
   */
  private readonly pinsVersions = new Map<string, number>();
  /** Pushed changes of messages above the cursor (not delivered yet), by conversation and id. */
  private readonly held = new Map<string, Map<string, Message>>();
  private heldCount = 0;
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
   * A message's current state, pushed. Stored: replaced (read state kept) and emitted. Above the
   * cursor (a sync or a gap fetch is bringing it): held and applied once delivered, since the copy
   * delivered may have been read before the change. At or below the cursor but not stored (older
   * than the store keeps): nothing to change, history reads it current. Emitted either way, for a
   * view showing it. The change counts as applied unless it could not be held (then the next
   * sync's CHANGES brings it).
   */
  async messageUpdated(message: Message): Promise<void> {
    const applied = await this.load();
    const { conversationId, serverMsgId } = message;
    const stored = await this.update(conversationId, serverMsgId, changeOf(message));
    const counted = stored !== null || message.seq <= this.deps.cursor(conversationId) || this.hold(message);
    if (counted && applied.advanceByOne(conversationId, message.modSeq))
      await this.saveModSeq(conversationId, message.modSeq);
    this.deps.updated(stored ?? message);
  }

  /** Messages just delivered (stored): applies the changes held for them. */
  async delivered(conversationId: string, messages: readonly Message[]): Promise<void> {
    const held = this.held.get(conversationId);
    if (!held) return;
    for (const m of messages) {
      const update = held.get(m.serverMsgId);
      if (!update) continue;
      held.delete(m.serverMsgId);
      this.heldCount--;
      const stored = await this.update(conversationId, m.serverMsgId, changeOf(update));
      if (stored) this.deps.updated(stored);
    }
    if (held.size === 0) this.held.delete(conversationId);
  }

  private hold(message: Message): boolean {
    const byId = this.held.get(message.conversationId) ?? new Map<string, Message>();
    const earlier = byId.get(message.serverMsgId);
    if (earlier) {
      if (message.modSeq > earlier.modSeq) byId.set(message.serverMsgId, message);
      return true;
    }
    if (this.heldCount >= MAX_HELD_UPDATES) return false;
    byId.set(message.serverMsgId, message);
    this.held.set(message.conversationId, byId);
    this.heldCount++;
    return true;
  }

  /** A conversation's whole pinned list, pushed with its change number. */
  async pinsPushed(conversationId: string, pins: readonly PinnedMessage[], modSeq: number): Promise<void> {
    const applied = await this.load();
    await this.savePins(applied, conversationId, pins, modSeq);
    if (applied.advanceByOne(conversationId, modSeq)) await this.saveModSeq(conversationId, modSeq);
  }

  /**
   * This client's own change, once answered with the change number it left: ordered against the
   * pushes like any other change (an older answer never overwrites a newer push), and counted.
   */
  async ownChange(
    conversationId: string,
    serverMsgId: string,
    change: MessageChange & { modSeq: number },
  ): Promise<Message | null> {
    const applied = await this.load();
    const stored = await this.update(conversationId, serverMsgId, change);
    if (stored) this.deps.updated(stored);
    if (applied.advanceByOne(conversationId, change.modSeq))
      await this.saveModSeq(conversationId, change.modSeq);
    return stored;
  }

  /** This client's own pin or unpin, once answered with the whole list and its change number. */
  async ownPins(conversationId: string, pins: readonly PinnedMessage[], modSeq: number): Promise<void> {
    await this.pinsPushed(conversationId, pins, modSeq);
  }

  /**
   * After a sync: for each conversation whose change number (`server`, from BATCH_SYNC) is above
   * the applied one, CHANGES_REQ from the applied one, page after page while has_more, applying
   * the messages and the pinned list. A conversation new to the store (not in `known`, nothing
   * applied) asks only the pinned list and the newest number: the messages it just synced carry
   * their current state. One conversation's refusal (e.g. left the group) is reported and the
   * others go on; a lost connection rethrows (the reconnect's sync asks again).
   */
  async catchUp(
    server: ReadonlyMap<string, number>,
    known: ReadonlySet<string> = new Set(server.keys()),
  ): Promise<{ conversations: number; messages: number }> {
    const applied = await this.load();
    const behind = applied.behind(server);
    let messages = 0;
    let next = 0;
    // A few conversations at a time: a new device may have many behind, each a round trip or more.
    const worker = async () => {
      while (next < behind.length) {
        const { conversationId, afterModSeq } = behind[next++]!;
        const pinsOnly = afterModSeq === 0 && !known.has(conversationId);
        try {
          messages += await this.catchUpOne(applied, conversationId, afterModSeq, pinsOnly);
        } catch (error) {
          if (error instanceof IMError && (error.kind === "connection" || error.kind === "timeout"))
            throw error;
          this.deps.error(
            error instanceof IMError
              ? error
              : new IMError("protocol", 0, `changes of ${conversationId}: ${String(error)}`),
          );
        }
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
    pinsOnly: boolean,
  ): Promise<number> {
    let messages = 0;
    let from = afterModSeq;
    for (;;) {
      const page = await this.deps.changes(conversationId, from, { pinsOnly });
      for (const m of page.messages) {
        const stored = await this.update(conversationId, m.serverMsgId, changeOf(m));
        if (stored) this.deps.updated(stored);
        messages++;
      }
      // The list is the one as of page.modSeq (the server sends it only when no pin change is newer).
      if (page.pins) await this.savePins(applied, conversationId, page.pins, page.modSeq);
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

  /** Stores and emits a pinned list standing at `version`, unless a newer one is known. */
  private async savePins(
    applied: AppliedChanges,
    conversationId: string,
    pins: readonly PinnedMessage[],
    version: number,
  ): Promise<void> {
    const known = this.pinsVersions.get(conversationId) ?? applied.get(conversationId);
    if (version < known) return;
    this.pinsVersions.set(conversationId, version);
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
