// Which D1 history shard this conversation's history goes to (src/db/history-shards.ts). Chosen
// before the first history row is written, recorded in the main database's conversation_shards
// (which readers look up), then kept in the object's own `meta` so later copies ask D1 nothing.
// A conversation that copied history before shards existed has it in DB, and stays there.
import { MAIN_DATABASE, type Settings } from "../../config/settings";
import { chooseShard, recordShard } from "../../db/history-shards";
import type { OutboxStore } from "./outbox-store";

const META_KEY = "historyShard";

export class HistoryShardChoice {
  private readonly sql: SqlStorage;
  private cached: string | null = null;

  constructor(
    storage: DurableObjectStorage,
    private readonly outbox: OutboxStore,
    /** Read at each use: a test swaps the object's env. */
    private readonly env: () => Env,
    private readonly settings: () => Settings,
  ) {
    this.sql = storage.sql; // `meta` is created by the messages migration (message-tables.ts)
  }

  /** The shard's name, as recorded in D1 before any row of this conversation is written there. */
  async shard(conversationId: string): Promise<string> {
    if (this.cached !== null) return this.cached;
    const stored = this.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", META_KEY)
      .toArray()[0]?.value;
    if (stored !== undefined) return (this.cached = stored);
    // History already copied (before shards) is in DB: the rest goes there too, never split.
    const chosen =
      this.outbox.copiedUpTo() > 0
        ? MAIN_DATABASE
        : chooseShard(conversationId, this.settings().historyShards.open);
    // The record decides: after a crash between it and the meta row, the same answer comes back.
    const recorded = await recordShard(this.env(), conversationId, chosen);
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", META_KEY, recorded);
    return (this.cached = recorded);
  }

  /** The shard recorded, or null before the first copy (tests and diagnostics). */
  recorded(): string | null {
    return (
      this.cached ??
      this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", META_KEY).toArray()[0]
        ?.value ??
      null
    );
  }
}
