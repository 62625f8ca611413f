// IMStore on IndexedDB for browsers (import `edge-im/client/indexeddb`; the main entry never loads it).
import { IMError } from "./errors.ts";
import { applyChange, newerCopy, type MessageChange } from "./rich-updates.ts";
import type { IMStore } from "./store.ts";
import type { Message, PinnedMessage } from "./types.ts";

const MESSAGES = "messages";
const CURSORS = "cursors";
/** Rich messages' per-conversation state: the newest change applied and the pinned list (version 2). */
const CONVERSATION_STATE = "conversationState";
const BY_SERVER_ID = "serverMsgId";
/** 1: messages and cursors; 2: conversationState. Each step runs once, from the version a database has. */
const VERSION = 2;

interface StateRow {
  conversationId: string;
  modSeq: number;
  pins: PinnedMessage[];
}

function isStateRow(value: unknown): value is StateRow {
  return (
    typeof value === "object" &&
    value !== null &&
    "conversationId" in value &&
    "modSeq" in value &&
    "pins" in value &&
    Array.isArray(value.pins)
  );
}

interface CursorRow {
  conversationId: string;
  seq: number;
}

function isCursorRow(value: unknown): value is CursorRow {
  return typeof value === "object" && value !== null && "conversationId" in value && "seq" in value;
}

function isMessage(value: unknown): value is Message {
  return typeof value === "object" && value !== null && "serverMsgId" in value && "seq" in value;
}

function result<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

/** A message as stored, with the rich fields a version-1 database did not keep filled in as absent. */
function withRichDefaults(message: Message): Message {
  const stored: Partial<Message> = message;
  return {
    ...message,
    replyTo: stored.replyTo ?? null,
    mentions: stored.mentions ?? [],
    mentionAll: stored.mentionAll ?? false,
    forwardedFrom: stored.forwardedFrom ?? null,
    editedTime: stored.editedTime ?? 0,
    editCount: stored.editCount ?? 0,
    reactions: stored.reactions ?? [],
    replyCount: stored.replyCount ?? 0,
    modSeq: stored.modSeq ?? 0,
  };
}

/**
 * @example
 * import { IndexedDBStore } from "edge-im/client/indexeddb";
 * const client = new IMClient({ apiUrl, store: (userId) => new IndexedDBStore({ name: `im-${userId}` }) });
 */
export class IndexedDBStore implements IMStore {
  private readonly db: Promise<IDBDatabase>;

  /** `factory` defaults to the global `indexedDB`. */
  constructor(options: { name: string; factory?: IDBFactory }) {
    const factory = options.factory ?? globalThis.indexedDB;
    const open = factory.open(options.name, VERSION);
    open.onupgradeneeded = (event) => {
      const db = open.result;
      if (event.oldVersion < 1) {
        const messages = db.createObjectStore(MESSAGES, { keyPath: ["conversationId", "seq"] });
        messages.createIndex(BY_SERVER_ID, "serverMsgId");
        db.createObjectStore(CURSORS, { keyPath: "conversationId" });
      }
      // Messages stored by version 1 lack the rich fields: readers treat them as absent (see `withRichDefaults`).
      if (event.oldVersion < 2) db.createObjectStore(CONVERSATION_STATE, { keyPath: "conversationId" });
    };
    this.db = new Promise<IDBDatabase>((resolve, reject) => {
      open.onsuccess = () => {
        const db = open.result;
        // A newer version opened elsewhere (another tab after an update) waits for this connection:
        // close it so that tab's version step runs, rather than leaving both hung.
        db.onversionchange = () => db.close();
        resolve(db);
      };
      open.onerror = () => reject(open.error ?? new Error("IndexedDB open failed"));
      // An older tab keeps the database open at the old version and does not let go.
      open.onblocked = () =>
        reject(
          new IMError(
            "invalid",
            0,
            `IndexedDB "${options.name}" is open in another tab at an older version: close the other tabs of this app and reload`,
          ),
        );
    });
    // A failure is the caller's to see on the first call, not an unhandled rejection now.
    this.db.catch(() => undefined);
  }

  async loadCursors(): Promise<Map<string, number>> {
    const tx = (await this.db).transaction(CURSORS, "readonly");
    const rows: unknown[] = await result(tx.objectStore(CURSORS).getAll());
    return new Map(rows.filter(isCursorRow).map((row) => [row.conversationId, row.seq]));
  }

  async saveMessages(conversationId: string, messages: readonly Message[], cursor: number): Promise<void> {
    const tx = (await this.db).transaction([MESSAGES, CURSORS], "readwrite");
    const done = committed(tx);
    const store = tx.objectStore(MESSAGES);
    const cursors = tx.objectStore(CURSORS);
    const current: unknown = await result(cursors.get(conversationId));
    const stored = isCursorRow(current) ? current.seq : 0;
    // At or below the stored cursor a copy may be stored already (history pages): keep its newer change.
    const again = messages.filter((m) => m.seq <= stored);
    const copies: unknown[] = await Promise.all(again.map((m) => result(store.get([conversationId, m.seq]))));
    const storedBySeq = new Map(copies.filter(isMessage).map((m) => [m.seq, withRichDefaults(m)]));
    for (const message of messages) store.put(newerCopy(storedBySeq.get(message.seq), message));
    cursors.put({ conversationId, seq: Math.max(cursor, stored) } satisfies CursorRow);
    await done;
  }

  async getMessages(
    conversationId: string,
    options: { beforeSeq?: number; limit?: number } = {},
  ): Promise<Message[]> {
    const tx = (await this.db).transaction(MESSAGES, "readonly");
    const upper = options.beforeSeq === undefined ? Number.MAX_SAFE_INTEGER : options.beforeSeq - 1;
    const range = IDBKeyRange.bound([conversationId, 0], [conversationId, upper]);
    const limit = options.limit ?? Infinity;
    const out: Message[] = [];
    const cursor = tx.objectStore(MESSAGES).openCursor(range, "prev");
    await new Promise<void>((resolve, reject) => {
      cursor.onerror = () => reject(cursor.error ?? new Error("IndexedDB cursor failed"));
      cursor.onsuccess = () => {
        const position = cursor.result;
        const value: unknown = position?.value;
        if (!position || out.length >= limit) return resolve();
        if (isMessage(value)) out.push(withRichDefaults(value));
        position.continue();
      };
    });
    return out.reverse();
  }

  async markRevoked(
    conversationId: string,
    serverMsgId: string,
    revokedBy: string,
    revokedTime: number,
  ): Promise<void> {
    const tx = (await this.db).transaction(MESSAGES, "readwrite");
    const done = committed(tx);
    const store = tx.objectStore(MESSAGES);
    const found: unknown = await result(store.index(BY_SERVER_ID).get(serverMsgId));
    if (isMessage(found) && found.conversationId === conversationId) {
      store.put({ ...found, isRevoked: true, revokedBy, revokedTime, content: new Uint8Array(), text: "" });
    }
    await done;
  }

  async updateMessage(
    conversationId: string,
    serverMsgId: string,
    change: MessageChange,
  ): Promise<Message | null> {
    const tx = (await this.db).transaction(MESSAGES, "readwrite");
    const done = committed(tx);
    const store = tx.objectStore(MESSAGES);
    const found: unknown = await result(store.index(BY_SERVER_ID).get(serverMsgId));
    let updated: Message | null = null;
    if (isMessage(found) && found.conversationId === conversationId) {
      const current = withRichDefaults(found);
      const changed = applyChange(current, change);
      if (changed) store.put(changed);
      updated = changed ?? current;
    }
    await done;
    return updated;
  }

  async loadModSeqs(): Promise<Map<string, number>> {
    const tx = (await this.db).transaction(CONVERSATION_STATE, "readonly");
    const rows: unknown[] = await result(tx.objectStore(CONVERSATION_STATE).getAll());
    return new Map(rows.filter(isStateRow).map((row) => [row.conversationId, row.modSeq]));
  }

  async saveModSeq(conversationId: string, modSeq: number): Promise<void> {
    await this.changeState(conversationId, (row) => ({ ...row, modSeq: Math.max(row.modSeq, modSeq) }));
  }

  async loadPins(conversationId: string): Promise<PinnedMessage[]> {
    const tx = (await this.db).transaction(CONVERSATION_STATE, "readonly");
    const row: unknown = await result(tx.objectStore(CONVERSATION_STATE).get(conversationId));
    return isStateRow(row) ? row.pins : [];
  }

  async savePins(conversationId: string, pins: readonly PinnedMessage[]): Promise<void> {
    await this.changeState(conversationId, (row) => ({ ...row, pins: [...pins] }));
  }

  /** Reads, changes and writes a conversation's state row in one transaction. */
  private async changeState(conversationId: string, change: (row: StateRow) => StateRow): Promise<void> {
    const tx = (await this.db).transaction(CONVERSATION_STATE, "readwrite");
    const done = committed(tx);
    const store = tx.objectStore(CONVERSATION_STATE);
    const current: unknown = await result(store.get(conversationId));
    const row = isStateRow(current) ? current : { conversationId, modSeq: 0, pins: [] };
    store.put(change(row));
    await done;
  }

  async clear(): Promise<void> {
    const stores = [MESSAGES, CURSORS, CONVERSATION_STATE];
    const tx = (await this.db).transaction(stores, "readwrite");
    const done = committed(tx);
    for (const name of stores) tx.objectStore(name).clear();
    await done;
  }

  /** Closes the database connection; the store is unusable afterwards. */
  async close(): Promise<void> {
    (await this.db).close();
  }
}
