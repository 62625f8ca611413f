// IMStore on IndexedDB for browsers (import `edge-im/client/indexeddb`; the main entry never loads it).
import type { IMStore } from "./store.ts";
import type { Message } from "./types.ts";

const MESSAGES = "messages";
const CURSORS = "cursors";
const BY_SERVER_ID = "serverMsgId";
const VERSION = 1;

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
    open.onupgradeneeded = () => {
      const db = open.result;
      const messages = db.createObjectStore(MESSAGES, { keyPath: ["conversationId", "seq"] });
      messages.createIndex(BY_SERVER_ID, "serverMsgId");
      db.createObjectStore(CURSORS, { keyPath: "conversationId" });
    };
    this.db = result(open);
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
    for (const message of messages) store.put(message);
    const cursors = tx.objectStore(CURSORS);
    const current: unknown = await result(cursors.get(conversationId));
    const seq = Math.max(cursor, isCursorRow(current) ? current.seq : 0);
    cursors.put({ conversationId, seq } satisfies CursorRow);
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
        if (isMessage(value)) out.push(value);
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

  async clear(): Promise<void> {
    const tx = (await this.db).transaction([MESSAGES, CURSORS], "readwrite");
    const done = committed(tx);
    tx.objectStore(MESSAGES).clear();
    tx.objectStore(CURSORS).clear();
    await done;
  }

  /** Closes the database connection; the store is unusable afterwards. */
  async close(): Promise<void> {
    (await this.db).close();
  }
}
