// The client's rich-messages parts without a server: reading the wire's fields 100+ into a Message,
// a send's rich fields, applying a change to a stored message (read state kept, an older change
// never over a newer one), the applied change numbers, and the catch-up after a sync (CHANGES
// paged until !has_more, messages and pins applied, the change number persisted), on MemoryStore
// and on IndexedDBStore (with its version step from a version-1 database).
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { beforeAll, describe, expect, it } from "vitest";
import {
  IMError,
  IMProtocolError,
  MemoryStore,
  type IMStore,
  type Message,
  type PinnedMessage,
  type PinsEvent,
} from "edge-im/client";
import { IndexedDBStore } from "edge-im/client/indexeddb";
import { toMessage, toOutgoingInfo } from "../../src/client/message.ts";
import type { ChangesPage } from "../../src/client/rich-requests.ts";
import { RichState } from "../../src/client/rich-state.ts";
import { AppliedChanges, applyChange, changeOf } from "../../src/client/rich-updates.ts";
import { im } from "../../src/protocol/generated/im.js";
import { sdkMessage } from "./helpers/sdk-messages.ts";

const pb = im.protocol;
const text = (s: string) => new TextEncoder().encode(s);

beforeAll(() => {
  Object.assign(globalThis, { IDBKeyRange });
});

describe("rich fields on the wire", () => {
  it("reads fields 100+ appended to a message's bytes into the Message", () => {
    // What a rich_messages socket gets: the SDK's bytes followed by `ext` (protobuf fields concatenate).
    const info = pb.MessageInfo.encode({
      serverMsgId: "m9",
      conversationId: "group_g1",
      seq: 9,
      content: text("hi"),
    }).finish();
    const ext = pb.MessageInfo.encode({
      replyTo: {
        serverMsgId: "m2",
        seq: 2,
        senderId: "u2",
        messageType: 1,
        snippet: "earlier",
        revoked: false,
      },
      mentionUserIds: ["u3", "u4"],
      forwardedFrom: { senderId: "u5", serverTime: 1234 },
      editedTime: 5000,
      editCount: 2,
      reactions: [{ emoji: "👍", count: 3, userIds: ["u2", "u3", "u4"] }],
      replyCount: 4,
      modSeq: 17,
    }).finish();
    const m = toMessage(pb.MessageInfo.decode(new Uint8Array([...info, ...ext])));
    expect(m).toMatchObject({
      serverMsgId: "m9",
      text: "hi",
      replyTo: {
        serverMsgId: "m2",
        seq: 2,
        senderId: "u2",
        messageType: 1,
        snippet: "earlier",
        revoked: false,
      },
      mentions: ["u3", "u4"],
      mentionAll: false,
      forwardedFrom: { senderId: "u5", serverTime: 1234 },
      editedTime: 5000,
      editCount: 2,
      reactions: [{ emoji: "👍", count: 3, userIds: ["u2", "u3", "u4"] }],
      replyCount: 4,
      modSeq: 17,
    });
    // A plain message has the rich fields empty, not missing.
    expect(toMessage(pb.MessageInfo.decode(info))).toMatchObject({
      replyTo: null,
      mentions: [],
      forwardedFrom: null,
      reactions: [],
      editCount: 0,
      modSeq: 0,
    });
  });

  it("puts a reply, mentions and a forward into the SEND_MSG_REQ, and nothing for a plain message", () => {
    const plain = toOutgoingInfo("a", { to: "b", content: "hi" });
    expect(plain.replyTo ?? plain.mentionUserIds ?? plain.forwardOf ?? plain.mentionAll).toBeUndefined();
    const plainBytes = pb.MessageInfo.encode(plain).finish();
    expect(pb.MessageInfo.decode(plainBytes).replyTo).toBeNull();

    const reply = toOutgoingInfo("a", {
      conversationId: "group_g1",
      content: "yes",
      replyTo: "m2",
      mentions: ["u3", "u3", "u4"],
      mentionAll: true,
    });
    expect(reply).toMatchObject({
      replyTo: { serverMsgId: "m2" },
      mentionUserIds: ["u3", "u4"],
      mentionAll: true,
    });

    // A forward's content is the server's to fill (it copies the source's): none goes on the wire.
    const forward = toOutgoingInfo("a", {
      to: "b",
      content: "",
      forwardOf: { conversationId: "group_g1", serverMsgId: "m2" },
    });
    expect(forward.forwardOf).toEqual({ conversationId: "group_g1", serverMsgId: "m2" });
    expect(forward.content?.byteLength ?? 0).toBe(0);
    expect(() =>
      toOutgoingInfo("a", { to: "b", content: "", forwardOf: { conversationId: "", serverMsgId: "m2" } }),
    ).toThrow(/forwardOf/);
  });
});

describe("applying a change", () => {
  const stored = sdkMessage(5, { status: 3, readCount: 2, modSeq: 4 });

  it("replaces content, rich fields and revoke state, keeping the read state and ids", () => {
    const update = sdkMessage(5, {
      content: text("edited"),
      text: "edited",
      status: 1, // the push carries the sender's view, not the reader's
      readCount: 0,
      editedTime: 99,
      editCount: 1,
      reactions: [{ emoji: "🎉", count: 1, userIds: ["b"] }],
      modSeq: 6,
    });
    const merged = applyChange(stored, changeOf(update));
    expect(merged).toMatchObject({
      text: "edited",
      editedTime: 99,
      editCount: 1,
      modSeq: 6,
      status: 3,
      readCount: 2,
    });
    expect(merged?.reactions).toEqual([{ emoji: "🎉", count: 1, userIds: ["b"] }]);

    const revoked = applyChange(
      stored,
      changeOf(
        sdkMessage(5, { isRevoked: true, revokedBy: "a", content: new Uint8Array(), text: "", modSeq: 7 }),
      ),
    );
    expect(revoked).toMatchObject({ isRevoked: true, revokedBy: "a", text: "", status: 3 });
  });

  it("never puts an older change over a newer one, and keeps the number for a change without one", () => {
    expect(applyChange(stored, changeOf(sdkMessage(5, { text: "old", modSeq: 3 })))).toBeNull();
    const own = applyChange(stored, { reactions: [{ emoji: "👍", count: 1, userIds: ["a"] }] });
    expect(own).toMatchObject({ modSeq: 4, reactions: [{ emoji: "👍", count: 1, userIds: ["a"] }] });
  });

  it("moves the applied change number by one for pushes, up for CHANGES pages, never down", () => {
    const applied = new AppliedChanges(new Map([["c1", 5]]));
    expect(applied.advanceByOne("c1", 7)).toBe(false); // a gap: change 6 was not seen here
    expect(applied.get("c1")).toBe(5);
    expect(applied.advanceByOne("c1", 6)).toBe(true);
    expect(applied.advanceByOne("c2", 1)).toBe(true);
    expect(applied.advanceTo("c1", 4)).toBe(false);
    expect(applied.get("c1")).toBe(6);
    expect(
      applied.behind(
        new Map([
          ["c1", 6],
          ["c2", 3],
          ["c3", 2],
        ]),
      ),
    ).toEqual([
      { conversationId: "c2", afterModSeq: 1 },
      { conversationId: "c3", afterModSeq: 0 },
    ]);
  });
});

/** A CHANGES answer: a page, one the test settles later, or a refusal thrown when asked. */
type PageAnswer = ChangesPage | Promise<ChangesPage> | (() => Promise<ChangesPage>);

/**
 * The catch-up against stand-in CHANGES pages (a page may be a promise the test settles, to order it
 * against pushes), recording what it asked and emitted. `cursors`: the receiver's, as delivery moves them.
 */
function richState(
  store: IMStore,
  pages: Map<string, PageAnswer[]>,
  options: { cursors?: Map<string, number>; errors?: IMError[] } = {},
) {
  const asked: [string, number][] = [];
  const askedPinsOnly: string[] = [];
  const updated: Message[] = [];
  const pins: PinsEvent[] = [];
  const cursors = options.cursors ?? new Map<string, number>();
  const state = new RichState({
    store,
    changes: async (conversationId, afterModSeq, request) => {
      asked.push([conversationId, afterModSeq]);
      if (request?.pinsOnly) askedPinsOnly.push(conversationId);
      const page = pages.get(conversationId)?.shift();
      if (!page) throw new Error(`no page for ${conversationId} after ${afterModSeq}`);
      return typeof page === "function" ? page() : page;
    },
    cursor: (conversationId) => cursors.get(conversationId) ?? 0,
    updated: (m) => updated.push(m),
    pins: (e) => pins.push(e),
    error: (e) => {
      if (!options.errors) throw e;
      options.errors.push(e);
    },
  });
  return { state, asked, askedPinsOnly, updated, pins, cursors };
}

const pin = (seq: number): PinnedMessage => ({
  serverMsgId: `id-${seq}`,
  seq,
  pinnedBy: "a",
  pinnedTime: seq * 10,
});

const stores: [string, () => IMStore][] = [
  ["MemoryStore", () => new MemoryStore()],
  ["IndexedDBStore", () => new IndexedDBStore({ name: "rich", factory: new IDBFactory() })],
];

describe.each(stores)("catching up through CHANGES (%s)", (_name, makeStore) => {
  it("pages until !has_more from the applied change number, applies messages and pins, persists the number", async () => {
    const store = makeStore();
    await store.saveMessages(
      "single_a_b",
      [1, 2, 3].map((s) => sdkMessage(s, { status: 3 })),
      3,
    );
    await store.saveModSeq("single_a_b", 2);
    const pages = new Map<string, ChangesPage[]>([
      [
        "single_a_b",
        [
          {
            messages: [
              sdkMessage(1, {
                text: "one, edited",
                content: text("one, edited"),
                editCount: 1,
                editedTime: 7,
                modSeq: 3,
                status: 1,
              }),
            ],
            pins: null,
            modSeq: 3,
            hasMore: true,
          },
          {
            // A message the store does not keep is skipped; the pinned list comes whole.
            messages: [
              sdkMessage(2, { reactions: [{ emoji: "👍", count: 1, userIds: ["b"] }], modSeq: 4 }),
              sdkMessage(40, { modSeq: 5 }),
            ],
            pins: [pin(3), pin(1)],
            modSeq: 6,
            hasMore: false,
          },
        ],
      ],
    ]);
    const { state, asked, updated, pins } = richState(store, pages);
    const summary = await state.catchUp(
      new Map([
        ["single_a_b", 6],
        ["single_a_c", 0],
      ]),
    );
    expect(summary).toEqual({ conversations: 1, messages: 3 });
    expect(asked).toEqual([
      ["single_a_b", 2],
      ["single_a_b", 3],
    ]);
    const after = await store.getMessages("single_a_b");
    expect(after.map((m) => [m.text, m.status, m.editCount, m.reactions.length])).toEqual([
      ["one, edited", 3, 1, 0],
      ["m2", 3, 0, 1],
      ["m3", 3, 0, 0],
    ]);
    expect(updated.map((m) => m.seq)).toEqual([1, 2]);
    expect(await store.loadPins("single_a_b")).toEqual([pin(3), pin(1)]);
    expect(pins).toEqual([{ conversationId: "single_a_b", pins: [pin(3), pin(1)] }]);
    expect(await store.loadModSeqs()).toEqual(new Map([["single_a_b", 6]]));

    // Caught up: the same number again asks nothing.
    const again = richState(store, new Map());
    await again.state.catchUp(new Map([["single_a_b", 6]]));
    expect(again.asked).toEqual([]);
  });

  it("catches up every conversation behind, a few at a time, each from its own applied number", async () => {
    const store = makeStore();
    const ids = Array.from({ length: 7 }, (_, i) => `single_a_c${i}`);
    for (const [i, id] of ids.entries()) await store.saveModSeq(id, i);
    const pages = new Map(
      ids.map((id, i) => [id, [{ messages: [], pins: [pin(i + 1)], modSeq: 10 + i, hasMore: false }]]),
    );
    const { state, asked } = richState(store, pages);
    const summary = await state.catchUp(new Map(ids.map((id, i) => [id, 10 + i])));
    expect(summary).toEqual({ conversations: 7, messages: 0 });
    expect([...asked].sort()).toEqual(ids.map((id, i) => [id, i]).sort());
    expect(await store.loadModSeqs()).toEqual(new Map(ids.map((id, i) => [id, 10 + i])));
    for (const [i, id] of ids.entries()) expect(await store.loadPins(id)).toEqual([pin(i + 1)]);
  });

  it("applies pushes: the next change number moves up, a gap does not, an older push changes nothing", async () => {
    const store = makeStore();
    await store.saveMessages("single_a_b", [sdkMessage(1, { status: 3 })], 1);
    const { state, updated, pins } = richState(store, new Map());
    await state.messageUpdated(
      sdkMessage(1, { text: "v1", content: text("v1"), editCount: 1, modSeq: 1, status: 1 }),
    );
    expect(await state.modSeq("single_a_b")).toBe(1);
    await state.pinsPushed("single_a_b", [pin(1)], 3); // change 2 was never seen here
    expect(await state.modSeq("single_a_b")).toBe(1);
    expect(await store.loadPins("single_a_b")).toEqual([pin(1)]);
    // Change 4 arrives before change 2 (another push path): the older one changes nothing.
    await state.messageUpdated(sdkMessage(1, { text: "v4", content: text("v4"), modSeq: 4, status: 1 }));
    await state.messageUpdated(sdkMessage(1, { text: "v2", content: text("v2"), modSeq: 2, status: 1 }));
    const [m] = await store.getMessages("single_a_b");
    expect(m).toMatchObject({ text: "v4", modSeq: 4, status: 3 });
    expect(updated.map((u) => u.text)).toEqual(["v1", "v4", "v4"]);
    expect(await state.modSeq("single_a_b")).toBe(2); // change 2 was the next one after 1
    expect(pins).toHaveLength(1);
    // A push for a message not stored is still emitted (a view may show it) and moves nothing.
    await state.messageUpdated(sdkMessage(9, { modSeq: 2 }));
    expect(updated.at(-1)?.seq).toBe(9);
    expect(await state.modSeq("single_a_b")).toBe(2);
    expect(await store.loadModSeqs()).toEqual(new Map([["single_a_b", 2]]));
  });
});

/** A promise the test settles later, to put an answer after a push. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe.each(stores)("answers and pushes in racing order (%s)", (_name, makeStore) => {
  it("orders one's own answers by their change number and counts them as applied", async () => {
    const store = makeStore();
    await store.saveMessages("single_a_b", [sdkMessage(1, { status: 3 })], 1);
    await store.saveModSeq("single_a_b", 2);
    const { state, updated } = richState(store, new Map());
    const thumbs = [{ emoji: "👍", count: 1, userIds: ["a"] }];
    // One's own reaction, change 3, answered: counted, so the next sync has nothing to ask.
    await state.ownChange("single_a_b", "id-1", { reactions: thumbs, modSeq: 3 });
    expect(await state.modSeq("single_a_b")).toBe(3);
    // Another device's edit (change 5) is pushed before the answer of one's own edit (change 4).
    await state.messageUpdated(
      sdkMessage(1, { text: "theirs", content: text("theirs"), reactions: thumbs, modSeq: 5 }),
    );
    await state.ownChange("single_a_b", "id-1", {
      text: "mine",
      content: text("mine"),
      editCount: 1,
      modSeq: 4,
    });
    const [m] = await store.getMessages("single_a_b");
    expect(m).toMatchObject({ text: "theirs", modSeq: 5, status: 3 });
    expect(updated.at(-1)?.text).toBe("theirs");
    // Change 4 (the answer) was the next one after 3; change 5 then came early, and stays for the sync.
    expect(await state.modSeq("single_a_b")).toBe(4);

    // Pins: one's own pin answered (change 6) after another device's unpin was pushed (change 7).
    await state.pinsPushed("single_a_b", [], 7);
    await state.ownPins("single_a_b", [pin(1)], 6);
    expect(await store.loadPins("single_a_b")).toEqual([]);
  });

  it("applies a change pushed while its message is being synced once the message is delivered", async () => {
    const store = makeStore();
    const { state, updated, cursors } = richState(store, new Map());
    // A batch sync read seq 1 before it was edited; the edit's push overtakes the sync's delivery.
    await state.messageUpdated(sdkMessage(1, { text: "edited", content: text("edited"), modSeq: 1 }));
    expect(updated.map((m) => m.text)).toEqual(["edited"]);
    const synced = [sdkMessage(1, { status: 3 })];
    await store.saveMessages("single_a_b", synced, 1);
    cursors.set("single_a_b", 1);
    await state.delivered("single_a_b", synced);
    const [m] = await store.getMessages("single_a_b");
    expect(m).toMatchObject({ text: "edited", modSeq: 1, status: 3 });
    expect(updated.at(-1)).toMatchObject({ text: "edited", status: 3 });
    expect(await state.modSeq("single_a_b")).toBe(1);
    // Held once: a second delivery of the same message changes nothing more.
    await state.delivered("single_a_b", synced);
    expect(updated).toHaveLength(2);
  });

  it("never puts an older CHANGES page's pinned list over a newer pushed one", async () => {
    const store = makeStore();
    await store.saveModSeq("single_a_b", 2);
    const page = deferred<ChangesPage>();
    const { state } = richState(store, new Map([["single_a_b", [page.promise]]]));
    const caughtUp = state.catchUp(new Map([["single_a_b", 6]]));
    // The page (as of change 6) is on its way when change 7, an unpin of everything, is pushed.
    await Promise.resolve();
    await state.pinsPushed("single_a_b", [], 7);
    page.resolve({ messages: [], pins: [pin(3)], modSeq: 6, hasMore: false });
    await caughtUp;
    expect(await store.loadPins("single_a_b")).toEqual([]);
    // And a push older than what CHANGES applied is refused too.
    await state.pinsPushed("single_a_b", [pin(4)], 5);
    expect(await store.loadPins("single_a_b")).toEqual([]);
  });

  it("asks a conversation new to the store only for its pins and newest change number", async () => {
    const store = makeStore();
    await store.saveMessages("single_a_c", [sdkMessage(1, { conversationId: "single_a_c" })], 1);
    const pages = new Map<string, ChangesPage[]>([
      ["single_a_b", [{ messages: [], pins: [pin(2)], modSeq: 900, hasMore: false }]],
      ["single_a_c", [{ messages: [], pins: null, modSeq: 4, hasMore: false }]],
    ]);
    const { state, asked, askedPinsOnly } = richState(store, pages);
    // single_a_c was in the store before the sync (its cursor): its changes may touch stored messages.
    await state.catchUp(
      new Map([
        ["single_a_b", 900],
        ["single_a_c", 4],
      ]),
      new Set(["single_a_c"]),
    );
    expect(askedPinsOnly).toEqual(["single_a_b"]);
    expect([...asked].sort()).toEqual([
      ["single_a_b", 0],
      ["single_a_c", 0],
    ]);
    expect(await store.loadModSeqs()).toEqual(
      new Map([
        ["single_a_b", 900],
        ["single_a_c", 4],
      ]),
    );
    expect(await store.loadPins("single_a_b")).toEqual([pin(2)]);
  });

  it("goes on with the other conversations when one's CHANGES is refused, and reports it", async () => {
    const store = makeStore();
    await store.saveModSeq("group_left", 1);
    await store.saveModSeq("single_a_b", 1);
    const refused = new IMProtocolError(7, "not a member", 1118);
    const errors: IMError[] = [];
    const pages = new Map<string, PageAnswer[]>([
      ["group_left", [() => Promise.reject(refused)]],
      ["single_a_b", [{ messages: [], pins: [pin(1)], modSeq: 3, hasMore: false }]],
    ]);
    const { state } = richState(store, pages, { errors });
    await state.catchUp(
      new Map([
        ["group_left", 5],
        ["single_a_b", 3],
      ]),
    );
    expect(errors).toEqual([refused]);
    expect(await store.loadModSeqs()).toEqual(
      new Map([
        ["group_left", 1],
        ["single_a_b", 3],
      ]),
    );
  });

  it("keeps a stored copy's newer change when history writes an older copy back", async () => {
    const store = makeStore();
    await store.saveMessages(
      "single_a_b",
      [1, 2].map((seq) => sdkMessage(seq)),
      2,
    );
    await store.updateMessage("single_a_b", "id-1", { text: "edited", content: text("edited"), modSeq: 5 });
    // A history page read before the edit, with a newer read status.
    await store.saveMessages("single_a_b", [sdkMessage(1, { status: 3, modSeq: 2 }), sdkMessage(2)], 2);
    const [first] = await store.getMessages("single_a_b");
    expect(first).toMatchObject({ text: "edited", modSeq: 5, status: 3 });
  });
});

/** Opens `name` at `version` with the raw factory (as another tab's code would). */
function openRaw(factory: IDBFactory, name: string, version: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = factory.open(name, version);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error("open failed"));
  });
}

describe("IndexedDBStore version step", () => {
  it("refuses with a typed error while an old tab holds the database at an older version", async () => {
    const factory = new IDBFactory();
    const oldTab = await openRaw(factory, "tabs", 1); // an old tab's code: never closes on versionchange
    const store = new IndexedDBStore({ name: "tabs", factory });
    const refused = await store.loadCursors().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IMError);
    expect(String(refused)).toMatch(/close the other tabs/);
    oldTab.close();
  });

  it("lets a newer version opened elsewhere go ahead by closing its own connection", async () => {
    const factory = new IDBFactory();
    const store = new IndexedDBStore({ name: "newer", factory });
    await store.loadCursors();
    const newerTab = await openRaw(factory, "newer", 3);
    expect(newerTab.version).toBe(3);
    newerTab.close();
  });

  it("opens a version-1 database, keeps its messages and cursors, and reads them with empty rich fields", async () => {
    const factory = new IDBFactory();
    // A database as version 1 of the store made it, with a message stored before rich messages.
    await new Promise<void>((resolve, reject) => {
      const open = factory.open("old", 1);
      open.onupgradeneeded = () => {
        const db = open.result;
        const messages = db.createObjectStore("messages", { keyPath: ["conversationId", "seq"] });
        messages.createIndex("serverMsgId", "serverMsgId");
        db.createObjectStore("cursors", { keyPath: "conversationId" });
        const {
          replyTo,
          mentions,
          mentionAll,
          forwardedFrom,
          editedTime,
          editCount,
          reactions,
          replyCount,
          modSeq,
          ...v1
        } = sdkMessage(1);
        void [
          replyTo,
          mentions,
          mentionAll,
          forwardedFrom,
          editedTime,
          editCount,
          reactions,
          replyCount,
          modSeq,
        ];
        messages.put(v1);
        open.transaction?.objectStore("cursors").put({ conversationId: "single_a_b", seq: 1 });
      };
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
      open.onerror = () => reject(open.error ?? new Error("open failed"));
    });
    const store = new IndexedDBStore({ name: "old", factory });
    expect(await store.loadCursors()).toEqual(new Map([["single_a_b", 1]]));
    const [m] = await store.getMessages("single_a_b");
    expect(m).toMatchObject({ seq: 1, text: "m1", replyTo: null, reactions: [], modSeq: 0 });
    const updated = await store.updateMessage("single_a_b", "id-1", {
      reactions: [{ emoji: "👍", count: 1, userIds: ["b"] }],
      modSeq: 1,
    });
    expect(updated).toMatchObject({ mentions: [], modSeq: 1 });
    await store.saveModSeq("single_a_b", 1);
    await store.savePins("single_a_b", [pin(1)]);
    expect(await store.loadModSeqs()).toEqual(new Map([["single_a_b", 1]]));
    await store.clear();
    expect(await store.loadPins("single_a_b")).toEqual([]);
    await store.close();
  });
});
