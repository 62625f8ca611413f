// History sharded over several D1 databases (src/db/history-shards.ts), on the two local ones
// wrangler.toml declares (DB and HISTORY_1): each conversation's history lands on the shard its id
// hashes to among the open ones, recorded in DB before its first row; every reader (search, the admin
// API's messages and counts) finds it there; a shard added later takes new conversations while the
// old ones keep theirs; and a conversation whose history reached DB before shards stays there.
import {
  createExecutionContext,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/worker/app";
import { checkSettings, readSettings } from "../../src/config/settings";
import { chooseShard } from "../../src/db/history-shards";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import { singleConversationId } from "../../src/protocol/conversation-id";
import type { MessageSearchPageJson } from "../../src/protocol/http-shapes";
import { adminOk } from "./helpers/admin";
import { historyShardName, pairOnShard, partnerOnShard, shardD1 } from "./helpers/history";
import { api, newUser, ORIGIN, type TestUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

/** A word no other test (or run) sends. */
const unique = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;

/** The seqs of a conversation's history on one shard. */
async function seqsOn(shard: string, conversationId: string): Promise<number[]> {
  const { results } = await shardD1(shard)
    .prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(conversationId)
    .all<{ seq: number }>();
  return results.map((r) => r.seq);
}

/** Runs the conversation's alarm until its history copy is done. */
async function flushed(conversationId: string): Promise<void> {
  const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
  while (await runDurableObjectAlarm(stub));
}

async function search(
  user: TestUser,
  params: Record<string, string | number>,
): Promise<MessageSearchPageJson> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const response = await api<MessageSearchPageJson>(`/api/messages/search?${query.toString()}`, {
    token: user.token,
  });
  expect(response.body.code, response.body.message).toBe(0);
  return response.body.data!;
}

/**
 * Runs the conversation's object with these settings from its next call on, as a deployment whose
 * wrangler.toml said so (the Worker and the writers keep the full list: they only read the map).
 */
async function withObjectSettings(conversationId: string, vars: Record<string, string>): Promise<void> {
  await runInDurableObject(
    env.CONVERSATION_OBJECT.getByName(conversationId),
    (instance: ConversationObject) => {
      const target = instance as unknown as { env: Env; settingsCache: unknown };
      target.env = { ...env, ...vars } as Env;
      target.settingsCache = null;
    },
  );
}

describe("history on two shards", () => {
  it("places conversations on both shards, records each before its rows, and reads each from its own", async () => {
    const a = await newUser("a");
    const onMain = await partnerOnShard(a, "DB");
    const onShard = await partnerOnShard(a, "HISTORY_1");
    const socket = await TestSocket.connect(a);
    const tag = unique("sh");
    await socket.sendText(a.userId, onMain.b.userId, `${tag} kept in the main database`);
    await socket.sendText(a.userId, onShard.b.userId, `${tag} kept in the history shard`);
    await socket.sendText(a.userId, onShard.b.userId, `${tag} kept in the history shard again`);
    await flushed(onMain.conversationId);
    await flushed(onShard.conversationId);

    // Each conversation is recorded on its shard, and its rows are there and nowhere else.
    expect(await historyShardName(onMain.conversationId)).toBe("DB");
    expect(await historyShardName(onShard.conversationId)).toBe("HISTORY_1");
    expect(await seqsOn("DB", onMain.conversationId)).toEqual([1]);
    expect(await seqsOn("HISTORY_1", onMain.conversationId)).toEqual([]);
    expect(await seqsOn("HISTORY_1", onShard.conversationId)).toEqual([1, 2]);
    expect(await seqsOn("DB", onShard.conversationId)).toEqual([]);
    // The object keeps the same answer in its own storage.
    for (const { conversationId } of [onMain, onShard]) {
      const kept = await runInDurableObject(
        env.CONVERSATION_OBJECT.getByName(conversationId),
        (instance: ConversationObject) => instance["c"].historyShard.recorded(),
      );
      expect(kept).toBe(await historyShardName(conversationId));
    }

    // A search over all of a's history finds both shards' messages, newest first; a page of one at a
    // time walks them without repeating or skipping one.
    const all = await search(a, { q: tag });
    expect(all.messages.map((m) => [m.conversationID, m.seq])).toEqual([
      [onShard.conversationId, 2],
      [onShard.conversationId, 1],
      [onMain.conversationId, 1],
    ]);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: MessageSearchPageJson = await search(a, {
        q: tag,
        limit: 1,
        ...(cursor ? { cursor } : {}),
      });
      paged.push(...page.messages.map((m) => m.serverMsgID));
      cursor = page.nextCursor;
    } while (cursor !== null && paged.length < 10);
    expect(paged).toEqual(all.messages.map((m) => m.serverMsgID));
    // Within one conversation, only its shard is asked; each reader sees only their own.
    expect(
      (await search(onShard.b, { q: tag, conversationID: onShard.conversationId })).messages,
    ).toHaveLength(2);
    expect((await search(onMain.b, { q: tag })).messages.map((m) => m.conversationID)).toEqual([
      onMain.conversationId,
    ]);

    // The admin API's messages of a user come from both shards, merged newest first, and page.
    const sent = await adminOk<{ messages: { conversationID: string; text: string }[]; next: string | null }>(
      `/users/${a.userId}/messages?limit=2`,
    );
    expect(sent.messages.map((m) => m.conversationID)).toEqual([
      onShard.conversationId,
      onShard.conversationId,
    ]);
    const rest = await adminOk<{ messages: { conversationID: string }[]; next: string | null }>(
      `/users/${a.userId}/messages?limit=2&before=${sent.next}`,
    );
    expect(rest.messages.map((m) => m.conversationID)).toEqual([onMain.conversationId]);
    socket.close();
  });

  it("pages a search through results with the same document id on two shards, none repeated or skipped", async () => {
    // Each shard numbers its own documents: rows of the same millisecond get the same ids on both.
    const a = await newUser("a");
    const [b1, b2] = [await newUser("b"), await newUser("b")];
    const tag = unique("tie");
    const at = Date.now() + 60_000;
    const placed = [
      { shard: "DB", conversationId: singleConversationId(a.userId, b1.userId) },
      { shard: "HISTORY_1", conversationId: singleConversationId(a.userId, b2.userId) },
    ];
    for (const { shard, conversationId } of placed) {
      await env.DB.prepare("INSERT INTO conversation_shards (conversation_id, shard) VALUES (?, ?)")
        .bind(conversationId, shard)
        .run();
      // Written as the history writer would (the triggers index them and record the readers).
      await shardD1(shard)
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3)
           INSERT INTO messages (conversation_id, seq, server_msg_id, client_msg_id, sender_id,
             conversation_type, message_type, content, send_time, server_time)
           SELECT ?1, i, ?1 || '-' || i, 'c' || i, ?2, 1, 1, CAST(?3 || ' ' || i AS BLOB), ?4, ?4 FROM n`,
        )
        .bind(conversationId, a.userId, tag, at)
        .run();
    }
    const ids = await Promise.all(
      placed.map(({ shard, conversationId }) =>
        shardD1(shard)
          .prepare("SELECT doc_id FROM message_search_docs WHERE conversation_id = ? ORDER BY doc_id")
          .bind(conversationId)
          .all<{ doc_id: number }>(),
      ),
    );
    expect(ids[0]!.results).toEqual(ids[1]!.results); // the same ids on both shards

    for (const limit of [1, 2, 4]) {
      const found: string[] = [];
      let cursor: string | null = null;
      do {
        const page: MessageSearchPageJson = await search(a, { q: tag, limit, ...(cursor ? { cursor } : {}) });
        found.push(...page.messages.map((m) => m.serverMsgID));
        cursor = page.nextCursor;
      } while (cursor !== null && found.length < 20);
      expect(found).toHaveLength(6);
      expect(new Set(found).size).toBe(6);
    }
    // A cursor from before shards (a document id alone) still means "below this id" everywhere.
    const below = await search(a, { q: tag, cursor: String(ids[0]!.results[2]!.doc_id) });
    expect(below.messages.map((m) => m.seq)).toEqual([2, 2, 1, 1]);
  });

  it("counts today's messages on every shard", async () => {
    const stats = () => adminOk<{ messagesToday: number }>("/stats");
    const before = (await stats()).messagesToday;
    const main = await pairOnShard("DB");
    const shard = await pairOnShard("HISTORY_1");
    for (const { a, b, conversationId } of [main, shard]) {
      const socket = await TestSocket.connect(a);
      await socket.sendText(a.userId, b.userId, "one");
      await socket.sendText(a.userId, b.userId, "two");
      socket.close();
      await flushed(conversationId);
    }
    expect((await stats()).messagesToday).toBe(before + 4);
  });
});

describe("a shard added later", () => {
  it("takes new conversations while the old ones keep writing to and reading from theirs", async () => {
    // A deployment with DB alone. This conversation would go to HISTORY_1 once it is listed.
    const old = await pairOnShard("HISTORY_1", ["DB", "HISTORY_1"]);
    await withObjectSettings(old.conversationId, { HISTORY_SHARDS: "DB", HISTORY_SHARDS_OPEN: "" });
    const oldSocket = await TestSocket.connect(old.a);
    const tag = unique("later");
    await oldSocket.sendText(old.a.userId, old.b.userId, `${tag} before the shard`);
    await flushed(old.conversationId);
    expect(await historyShardName(old.conversationId)).toBe("DB");

    // HISTORY_1 is added: the old conversation stays on DB, a new one hashing there goes there.
    await withObjectSettings(old.conversationId, { HISTORY_SHARDS: "DB,HISTORY_1", HISTORY_SHARDS_OPEN: "" });
    await oldSocket.sendText(old.a.userId, old.b.userId, `${tag} after the shard`);
    await flushed(old.conversationId);
    expect(await seqsOn("DB", old.conversationId)).toEqual([1, 2]);
    expect(await seqsOn("HISTORY_1", old.conversationId)).toEqual([]);

    const fresh = await partnerOnShard(old.a, "HISTORY_1", ["DB", "HISTORY_1"]);
    await withObjectSettings(fresh.conversationId, {
      HISTORY_SHARDS: "DB,HISTORY_1",
      HISTORY_SHARDS_OPEN: "",
    });
    await oldSocket.sendText(old.a.userId, fresh.b.userId, `${tag} in a new conversation`);
    await flushed(fresh.conversationId);
    expect(await historyShardName(fresh.conversationId)).toBe("HISTORY_1");
    expect(await seqsOn("HISTORY_1", fresh.conversationId)).toEqual([1]);

    // Readers find each where it is.
    expect((await search(old.b, { q: tag })).messages.map((m) => m.seq)).toEqual([2, 1]);
    expect((await search(old.a, { q: tag })).messages.map((m) => m.conversationID)).toEqual([
      fresh.conversationId,
      old.conversationId,
      old.conversationId,
    ]);
    oldSocket.close();
  });

  it("keeps a closed shard's conversations there, and places no new one on it", async () => {
    // HISTORY_1 closed to new conversations (full): one that would hash there goes to DB.
    const closed = { HISTORY_SHARDS: "DB,HISTORY_1", HISTORY_SHARDS_OPEN: "DB" };
    const placed = await pairOnShard("HISTORY_1", ["DB", "HISTORY_1"]);
    await withObjectSettings(placed.conversationId, closed);
    const socket = await TestSocket.connect(placed.a);
    await socket.sendText(placed.a.userId, placed.b.userId, "while HISTORY_1 is closed");
    await flushed(placed.conversationId);
    expect(await historyShardName(placed.conversationId)).toBe("DB");

    // One already on HISTORY_1 keeps writing there after it closed.
    const kept = await partnerOnShard(placed.a, "HISTORY_1");
    await socket.sendText(placed.a.userId, kept.b.userId, "before closing");
    await flushed(kept.conversationId);
    await withObjectSettings(kept.conversationId, closed);
    await socket.sendText(placed.a.userId, kept.b.userId, "after closing");
    await flushed(kept.conversationId);
    expect(await seqsOn("HISTORY_1", kept.conversationId)).toEqual([1, 2]);
    socket.close();
  });

  it("keeps a conversation whose history reached DB before shards on DB", async () => {
    const legacy = await pairOnShard("HISTORY_1", ["DB", "HISTORY_1"]);
    const stub = env.CONVERSATION_OBJECT.getByName(legacy.conversationId);
    // As the code before shards did: rows written to DB, nothing recorded anywhere.
    await withObjectSettings(legacy.conversationId, { HISTORY_SHARDS: "DB", HISTORY_SHARDS_OPEN: "" });
    const socket = await TestSocket.connect(legacy.a);
    for (const words of ["one", "two", "three"])
      await socket.sendText(legacy.a.userId, legacy.b.userId, words);
    await flushed(legacy.conversationId);
    await env.DB.prepare("DELETE FROM conversation_shards WHERE conversation_id = ?")
      .bind(legacy.conversationId)
      .run();
    await runInDurableObject(stub, (instance: ConversationObject, state) => {
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'historyShard'");
      instance["c"].historyShard["cached"] = null;
    });
    await withObjectSettings(legacy.conversationId, {
      HISTORY_SHARDS: "DB,HISTORY_1",
      HISTORY_SHARDS_OPEN: "",
    });

    // Its id hashes to HISTORY_1, but its history stays whole on DB.
    await socket.sendText(legacy.a.userId, legacy.b.userId, "four");
    await flushed(legacy.conversationId);
    expect(await historyShardName(legacy.conversationId)).toBe("DB");
    expect(await seqsOn("DB", legacy.conversationId)).toEqual([1, 2, 3, 4]);
    expect(await seqsOn("HISTORY_1", legacy.conversationId)).toEqual([]);
    socket.close();
  });

  it("keeps it on DB even when its object lost track of what it copied there", async () => {
    const legacy = await pairOnShard("HISTORY_1", ["DB", "HISTORY_1"]);
    const stub = env.CONVERSATION_OBJECT.getByName(legacy.conversationId);
    await withObjectSettings(legacy.conversationId, { HISTORY_SHARDS: "DB", HISTORY_SHARDS_OPEN: "" });
    const socket = await TestSocket.connect(legacy.a);
    for (const words of ["one", "two"]) await socket.sendText(legacy.a.userId, legacy.b.userId, words);
    await flushed(legacy.conversationId);
    await env.DB.prepare("DELETE FROM conversation_shards WHERE conversation_id = ?")
      .bind(legacy.conversationId)
      .run();
    // The copy reached DB but its answer did not (a reset, a writer answering too late): the object
    // holds no shard and believes nothing was copied.
    await runInDurableObject(stub, (instance: ConversationObject, state) => {
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'historyShard'");
      state.storage.sql.exec("UPDATE meta SET value = '0' WHERE key = 'flushedSeq'");
      instance["c"].historyShard["cached"] = null;
      instance["c"].outbox["cachedFlushedSeq"] = null;
    });
    await withObjectSettings(legacy.conversationId, {
      HISTORY_SHARDS: "DB,HISTORY_1",
      HISTORY_SHARDS_OPEN: "",
    });

    await socket.sendText(legacy.a.userId, legacy.b.userId, "three");
    await flushed(legacy.conversationId);
    // D1 decides from what DB holds: no row in two databases, no search result twice.
    expect(await historyShardName(legacy.conversationId)).toBe("DB");
    expect(await seqsOn("DB", legacy.conversationId)).toEqual([1, 2, 3]);
    expect(await seqsOn("HISTORY_1", legacy.conversationId)).toEqual([]);
    socket.close();
  });
});

describe("the health check", () => {
  it("is healthy only when every history shard has its migrations", async () => {
    expect((await api("/health", { method: "GET" })).status).toBe(200);
    await env.HISTORY_1.prepare("ALTER TABLE messages RENAME TO messages_offline").run();
    try {
      const response = await api("/health", { method: "GET" });
      expect(response.status).toBe(503);
      expect(response.body.message).toBe("Database not ready");
    } finally {
      await env.HISTORY_1.prepare("ALTER TABLE messages_offline RENAME TO messages").run();
    }
  });
});

describe("shard settings", () => {
  const SECRET = "s".repeat(32);
  const problems = (vars: Record<string, unknown>) => {
    const check = checkSettings({ JWT_SECRET: SECRET, DB: env.DB, HISTORY_1: env.HISTORY_1, ...vars });
    return check.ok ? [] : check.problems.map((p) => `${p.variable} ${p.expected}`);
  };

  it("reads the shards and the open ones, all of them when none is named", () => {
    expect(readSettings(env).historyShards).toEqual({ all: ["DB", "HISTORY_1"], open: ["DB", "HISTORY_1"] });
    const check = checkSettings({
      JWT_SECRET: SECRET,
      DB: env.DB,
      HISTORY_1: env.HISTORY_1,
      HISTORY_SHARDS: "HISTORY_1, DB",
      HISTORY_SHARDS_OPEN: "HISTORY_1",
    });
    expect(check.ok && check.settings.historyShards).toEqual({
      all: ["HISTORY_1", "DB"],
      open: ["HISTORY_1"],
    });
    // The choice depends on the open shards' names and order only, never on the full list.
    const id = "single_x_y";
    expect(chooseShard(id, ["DB"])).toBe("DB");
    expect(["DB", "HISTORY_1"]).toContain(chooseShard(id, ["DB", "HISTORY_1"]));
  });

  it("refuses a name that is not a D1 binding, a list without DB, and an open shard not listed", async () => {
    expect(problems({ HISTORY_SHARDS: "DB,HISTORY_2" })).toEqual([
      "HISTORY_SHARDS must name D1 bindings of the Worker ([[d1_databases]] in wrangler.toml); not one: HISTORY_2",
    ]);
    // A binding of another kind is no shard either.
    expect(problems({ HISTORY_SHARDS: "DB,USER_OBJECT" })).toEqual([
      "HISTORY_SHARDS must name D1 bindings of the Worker ([[d1_databases]] in wrangler.toml); not one: USER_OBJECT",
    ]);
    expect(problems({ HISTORY_SHARDS: "HISTORY_1" })).toEqual([
      "HISTORY_SHARDS must include DB, the main database, which holds the history written before shards",
    ]);
    expect(problems({ HISTORY_SHARDS: "DB,DB" })).toEqual(["HISTORY_SHARDS must name each binding once"]);
    expect(problems({ HISTORY_SHARDS: "DB,not a name" })).toEqual([
      "HISTORY_SHARDS must be a comma-separated list of D1 binding names",
    ]);
    expect(problems({ HISTORY_SHARDS: "DB", HISTORY_SHARDS_OPEN: "HISTORY_1" })).toEqual([
      "HISTORY_SHARDS_OPEN must name only shards listed in HISTORY_SHARDS",
    ]);
    // The Worker so configured refuses every request, naming the variable.
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const ctx = createExecutionContext();
    const misconfigured = { ...env, HISTORY_SHARDS: "DB,HISTORY_1,HISTORY_2" } as unknown as Env;
    const response = await createApp().fetch(new Request(`${ORIGIN}/health`), misconfigured, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      message:
        "server misconfigured: HISTORY_SHARDS must name D1 bindings of the Worker ([[d1_databases]] in wrangler.toml); not one: HISTORY_2",
    });
    errors.mockRestore();
    // Declared bindings given (scripts/dev.mjs, from wrangler.toml) are checked instead of the env.
    const declared = checkSettings(
      { JWT_SECRET: SECRET, HISTORY_SHARDS: "DB,HISTORY_9" },
      new Set(["DB", "HISTORY_9"]),
    );
    expect(declared.ok).toBe(true);
  });
});
