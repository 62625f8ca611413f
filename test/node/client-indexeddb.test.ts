// The browser store (IndexedDBStore) run on fake-indexeddb, an in-memory IndexedDB for Node: the
// same contract as MemoryStore, and that it survives closing and reopening the database.
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { beforeAll, describe, expect, it } from "vitest";
import { IndexedDBStore } from "edge-im/client/indexeddb";
import { sdkMessage } from "./helpers/sdk-messages.ts";

beforeAll(() => {
  // The store uses the global IDBKeyRange, as it would in a browser.
  Object.assign(globalThis, { IDBKeyRange });
});

const message = (conversationId: string, seq: number) =>
  sdkMessage(seq, { conversationId, serverMsgId: `${conversationId}-${seq}` });

describe("IndexedDBStore", () => {
  it("stores batches with their cursor, pages backwards, marks revokes and survives a reopen", async () => {
    const factory = new IDBFactory();
    const store = new IndexedDBStore({ name: "im-test", factory });
    await store.saveMessages(
      "single_a_b",
      [1, 2, 3].map((s) => message("single_a_b", s)),
      3,
    );
    await store.saveMessages(
      "single_a_b",
      [4, 5].map((s) => message("single_a_b", s)),
      5,
    );
    await store.saveMessages("single_a_c", [message("single_a_c", 1)], 1);
    expect(await store.loadCursors()).toEqual(
      new Map([
        ["single_a_b", 5],
        ["single_a_c", 1],
      ]),
    );
    expect((await store.getMessages("single_a_b")).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await store.getMessages("single_a_b", { beforeSeq: 5, limit: 2 })).map((m) => m.seq)).toEqual([
      3, 4,
    ]);
    const [first] = await store.getMessages("single_a_b", { limit: 5 });
    expect(first!.content).toEqual(new TextEncoder().encode("m1"));

    await store.markRevoked("single_a_b", "single_a_b-2", "a", 42);
    await store.markRevoked("single_a_c", "single_a_b-3", "a", 42); // wrong conversation: untouched
    await store.close();

    const reopened = new IndexedDBStore({ name: "im-test", factory });
    expect(await reopened.loadCursors()).toEqual(
      new Map([
        ["single_a_b", 5],
        ["single_a_c", 1],
      ]),
    );
    const page = await reopened.getMessages("single_a_b", { beforeSeq: 4 });
    expect(page.map((m) => [m.seq, m.isRevoked, m.text])).toEqual([
      [1, false, "m1"],
      [2, true, ""],
      [3, false, "m3"],
    ]);
    await reopened.clear();
    expect(await reopened.loadCursors()).toEqual(new Map());
    expect(await reopened.getMessages("single_a_b")).toEqual([]);
  });
});
