// Which conversation an object is: its id, type and group id, as every stored message carries them.
// Written to the object's `meta` table on its first write, so work that outlives a call (the alarm)
// knows it too.
import type { StoredMessage } from "../message";
import { migrateMessages } from "./message-tables";

export type Identity = Pick<StoredMessage, "conversationId" | "conversationType" | "groupId">;

export class IdentityStore {
  private readonly sql: SqlStorage;
  private cached: Identity | null = null;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrateMessages(this.sql);
  }

  /** Binds this object to its conversation on first use; a different id later is a routing bug. */
  bind(wanted: Identity): Identity {
    const known = this.stored();
    if (known) {
      if (known.conversationId !== wanted.conversationId) {
        throw new Error(`object of ${known.conversationId} asked about ${wanted.conversationId}`);
      }
      return known;
    }
    for (const [key, value] of Object.entries(wanted)) {
      this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", key, String(value));
    }
    this.cached = wanted;
    return wanted;
  }

  /** The identity bound earlier, if any. */
  stored(): Identity | null {
    if (this.cached) return this.cached;
    const rows = this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta").toArray();
    const meta = new Map(rows.map((r) => [r.key, r.value]));
    const conversationId = meta.get("conversationId");
    if (!conversationId) return null;
    this.cached = {
      conversationId,
      conversationType: Number(meta.get("conversationType")),
      groupId: meta.get("groupId") ?? "",
    };
    return this.cached;
  }
}
