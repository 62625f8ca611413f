// The baseline relay: what the platform costs for the IM server's load shape, with none of the app.
// Text frames, one per line of this protocol (client → server; the server's answer):
//   "h <id>"                 hello / heartbeat → "H <id>"
//   "s <id> <to> <content>"  send: RPC to the receiver's object, which pushes "p <content>" to its
//                            sockets; then the sender gets "a <id>"
//   "g <id> <to1,to2,...> <content>"
//                            group send (the sparse scenario): one push RPC per listed member, as the
//                            IM server's fan-out makes one delivery per member; then "a <id>"
//   "k <anything>"           delivered-ack from a receiver; dropped (it keeps the load shape equal)
//   "o <id> <conversation> <to1,to2,...> <content>"
//                            the ordered floor (`npm run bench -- --floor`): the least work the IM
//                            server's guarantees take on this platform, with none of its protocol.
//                            The conversation's object numbers and stores the message before the
//                            sender's answer; then it calls each receiver's object, which keeps it (an
//                            inbox row: the unread count) before pushing, and hands the copy to a
//                            writer, which puts a window's copies from every conversation into D1 in
//                            one batch (as src/objects/history/history-writer.ts does)
// GET /usage answers its invocation counts in the IM server's /debug/usage shape (one increment each).
import { DurableObject } from "cloudflare:workers";
import { hash } from "../../src/lib/hash.ts";
import { emptyUsage } from "../../src/lib/usage.ts";

/** Invocations by object and kind, as the IM server counts them (src/lib/usage-meter.ts). */
const invocations: Record<string, number> = {};
function count(key: string): void {
  invocations[key] = (invocations[key] ?? 0) + 1;
}

interface Env {
  RELAY: DurableObjectNamespace<RelayObject>;
  CONVERSATION: DurableObjectNamespace<ConversationFloor>;
  WRITER: DurableObjectNamespace<WriterFloor>;
  DB: D1Database;
}

/** As the server's HISTORY_WRITERS and WRITE_WINDOW_MS. */
const WRITERS = 4;
const WRITE_WINDOW_MS = 200;

/** A message's copy for D1. */
interface HistoryRow {
  conversation: string;
  seq: number;
  sender: string;
  content: string;
}

export class RelayObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    count("relay.start"); // a wake after hibernation or eviction, as the server counts its own
  }

  override async fetch(request: Request): Promise<Response> {
    count("relay.request");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(new URL(request.url).searchParams.get("user") ?? "");
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    count("relay.frame");
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    const kind = text[0];
    if (kind === "h") return ws.send(`H ${text.slice(2)}`);
    if (kind === "o") return this.ordered(ws, text);
    if (kind !== "s" && kind !== "g") return;
    const idEnd = text.indexOf(" ", 2);
    const toEnd = text.indexOf(" ", idEnd + 1);
    if (idEnd < 0 || toEnd < 0) return;
    const to = text.slice(idEnd + 1, toEnd);
    const content = text.slice(toEnd + 1);
    if (kind === "s") await this.env.RELAY.getByName(to).push(content);
    else await Promise.all(to.split(",").map((member) => this.env.RELAY.getByName(member).push(content)));
    ws.send(`a ${text.slice(2, idEnd)}`);
  }

  /** RPC from the sender's object: push to every socket of this user. */
  push(content: string): void {
    count("relay.rpc");
    for (const ws of this.ctx.getWebSockets()) ws.send(`p ${content}`);
  }

  /** "o": the sender's answer once the conversation's object has stored the message. */
  private async ordered(ws: WebSocket, text: string): Promise<void> {
    const [id, conversation, to] = text.slice(2).split(" ", 3) as [string, string, string];
    const content = text.slice(2 + id.length + conversation.length + to.length + 3);
    const sender = ws.deserializeAttachment() as string;
    await this.env.CONVERSATION.getByName(conversation).send(conversation, sender, to.split(","), content);
    ws.send(`a ${id}`);
  }

  private inboxReady = false;

  /** RPC from a conversation's object (the floor): keep the message in the inbox, then push it. */
  keep(conversation: string, seq: number, content: string): void {
    count("relay.rpc");
    const sql = this.ctx.storage.sql;
    if (!this.inboxReady) {
      sql.exec(
        "CREATE TABLE IF NOT EXISTS inbox (conversation TEXT PRIMARY KEY, seq INTEGER NOT NULL, unread INTEGER NOT NULL)",
      );
      this.inboxReady = true;
    }
    sql.exec(
      `INSERT INTO inbox VALUES (?, ?, 1) ON CONFLICT (conversation) DO UPDATE
         SET unread = unread + (excluded.seq > seq), seq = max(seq, excluded.seq)`,
      conversation,
      seq,
    );
    for (const ws of this.ctx.getWebSockets()) ws.send(`p ${content}`);
  }
}

/** The floor's conversation: numbers, stores, fans out and copies each message. */
export class ConversationFloor extends DurableObject<Env> {
  private seq: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    count("conversation.start");
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, sender TEXT NOT NULL, content TEXT NOT NULL)",
    );
    this.seq =
      ctx.storage.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM messages").one().seq ?? 0;
  }

  /** Stored before it answers (the output gate holds the answer and the calls until it is durable). */
  send(conversation: string, sender: string, members: string[], content: string): number {
    count("conversation.rpc");
    const seq = ++this.seq;
    this.ctx.storage.sql.exec("INSERT INTO messages VALUES (?, ?, ?)", seq, sender, content);
    for (const member of members) {
      void this.env.RELAY.getByName(member)
        .keep(conversation, seq, content)
        .catch(() => undefined);
    }
    const writer = this.env.WRITER.getByName(`writer-${hash(conversation) % WRITERS}`);
    void writer.write([{ conversation, seq, sender, content }]).catch(() => undefined);
    return seq;
  }
}

/** The floor's history writer: a window's copies from every conversation, one D1 batch. */
export class WriterFloor extends DurableObject<Env> {
  private waiting: { rows: HistoryRow[]; done: () => void }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private tableReady = false;

  write(rows: HistoryRow[]): Promise<void> {
    count("writer.rpc");
    const done = Promise.withResolvers<void>();
    this.waiting.push({ rows, done: done.resolve });
    this.timer ??= setTimeout(() => void this.flush(), WRITE_WINDOW_MS);
    return done.promise;
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    this.timer = null;
    if (!this.tableReady) {
      await this.env.DB.exec(
        "CREATE TABLE IF NOT EXISTS history (conversation TEXT NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (conversation, seq))",
      );
      this.tableReady = true;
    }
    const insert = this.env.DB.prepare("INSERT OR IGNORE INTO history VALUES (?, ?, ?, ?)");
    await this.env.DB.batch(
      batch.flatMap(({ rows }) => rows.map((r) => insert.bind(r.conversation, r.seq, r.sender, r.content))),
    );
    for (const { done } of batch) done();
  }
}
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "healthy" });
    if (url.pathname === "/usage") {
      return Response.json({ data: emptyUsage(invocations) });
    }
    count("worker.request");
    const user = url.searchParams.get("user");
    if (url.pathname !== "/ws" || !user || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected GET /ws?user=<id> with Upgrade: websocket", { status: 400 });
    }
    return env.RELAY.getByName(user).fetch(request);
  },
} satisfies ExportedHandler<Env>;
