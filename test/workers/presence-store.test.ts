// Presence keeps its state in a table of its own (src/objects/user/presence-store.ts); an object
// from before it kept that state in the inbox's `counters` and `profile` tables, which its schema
// copies over (leaving them for the previous deploy, should it be rolled back to).
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PresenceStore } from "../../src/objects/user/presence-store";

describe("the presence store", () => {
  it("takes over what an older object kept in counters and profile", async () => {
    const stub = env.USER_OBJECT.getByName(`presence-migration-${crypto.randomUUID()}`);
    const moved = await runInDurableObject(stub, (_object, state) => {
      const sql = state.storage.sql;
      // The layout before the presence table: rebuilt by hand, as an older deploy left it.
      sql.exec("DROP TABLE presence");
      sql.exec("DELETE FROM _schema WHERE name = 'presence'");
      // (The inbox's schema still makes `counters` and `profile`, as it did then.)
      sql.exec("INSERT INTO profile (key, value) VALUES ('owner', 'u-older')");
      sql.exec(
        "INSERT INTO counters (name, value) VALUES ('presence_announced', 1), ('presence_offline_at', 1234), ('last_seen', 999)",
      );
      const store = new PresenceStore(sql);
      const tables = sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('counters', 'profile')",
        )
        .toArray();
      return {
        userId: store.userId(),
        announced: store.announced(),
        offlineAt: store.offlineAt(),
        lastSeen: store.lastSeen(),
        leftover: tables.length,
      };
    });
    expect(moved).toEqual({
      userId: "u-older",
      announced: true,
      offlineAt: 1234,
      lastSeen: 999,
      leftover: 2,
    });
  });

  it("keeps each change across a new instance, and knows its user by name", async () => {
    const name = `presence-${crypto.randomUUID()}`;
    const stub = env.USER_OBJECT.getByName(name);
    const read = await runInDurableObject(stub, (_object, state) => {
      const store = new PresenceStore(state.storage.sql);
      store.recordUserId(name);
      store.setAnnounced(true);
      store.setOfflineAt(42);
      store.setLastSeen(41);
      const again = new PresenceStore(state.storage.sql);
      return {
        id: state.id.name,
        userId: again.userId(),
        announced: again.announced(),
        at: again.offlineAt(),
        seen: again.lastSeen(),
      };
    });
    expect(read).toEqual({ id: name, userId: name, announced: true, at: 42, seen: 41 });
  });
});
