// Message search (GET /api/messages/search): words inside English, Chinese and Japanese sentences,
// only what the caller may read (their conversations, from their join to their leave, never
// revoked), stable paging, filters, refusals of bad queries that never reach SQL, and the per-user
// throttle.
import { env, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { allShards, shardOf } from "../../src/db/history-shards";
import { MATCHES_EXAMINED_PER_PAGE, type SearchLimits } from "../../src/db/message-search";
import { searchShards, type ShardFound } from "../../src/db/sharded-search";
import { decodeCursor, encodeCursor } from "../../src/search/cursor";
import { Err } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import type { MessageSearchHitJson, MessageSearchPageJson } from "../../src/protocol/http-shapes";
import { createGroup, sendToGroup } from "./helpers/groups";
import { api, newUser, ORIGIN, refusal, type TestUser } from "./helpers/http";
import { adminOk } from "./helpers/admin";
import { revoke } from "./helpers/protocol";
import { parseQuery } from "../../src/search/query";
import { SEARCH_WINDOW_MS } from "../../src/search/throttle";
import { readSettings } from "../../src/config/settings";
import { TestSocket } from "./helpers/socket";
import { historyD1, historyShardD1s, partnerOnShard } from "./helpers/history";

function searchPath(params: Record<string, string | number>): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  return `/api/messages/search?${query.toString()}`;
}

type Params = Record<string, string | number>;

/** A page as the route gives it: the rows, and the cursor as the client sees it. */
interface SearchPage {
  messages: ShardFound[];
  nextCursor: string | null;
}

/**
 * The same search made in-process, on the shards the route asks, with its limits: `scanMaxRows: 0`
 * never scans the caller's history.
 */
async function searchDirect(
  user: TestUser,
  params: Params,
  limits: Partial<SearchLimits>,
): Promise<SearchPage> {
  const query = parseQuery(String(params.q));
  if ("problem" in query) throw new Error(query.problem);
  const given = (key: string) => (params[key] === undefined || params[key] === "" ? undefined : params[key]);
  const time = (key: string) => (given(key) === undefined ? undefined : Number(given(key)));
  const conversationId = given("conversationID") as string | undefined;
  const shards =
    conversationId === undefined ? allShards(env, readSettings(env)) : [await shardOf(env, conversationId)];
  const page = await searchShards(
    shards,
    {
      userId: user.userId,
      query,
      filters: {
        conversationId: given("conversationID") as string | undefined,
        senderId: given("senderID") as string | undefined,
        from: time("from"),
        to: time("to"),
      },
      cursor: given("cursor") === undefined ? null : decodeCursor(String(given("cursor"))),
      limit: Number(given("limit") ?? 20),
    },
    limits,
  );
  return {
    messages: page.messages,
    nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor),
  };
}

/**
 * GET /api/messages/search. The route scans these small histories; every answer is checked
 * against the same search through the index (or, for short words, the walk over every
 * document), so each test covers the ways a larger history takes too.
 */
async function search(user: TestUser, params: Params) {
  const response = await api<MessageSearchPageJson>(searchPath(params), { token: user.token });
  expect(response.body.code, response.body.message).toBe(0);
  const page = response.body.data!;
  const byIndex = await searchDirect(user, params, { scanMaxRows: 0 });
  const where = (hits: { conversationID: string; seq: number }[]) =>
    hits.map((h) => `${h.conversationID}#${h.seq}`);
  expect(where(byIndex.messages.map((m) => ({ conversationID: m.conversation_id, seq: m.seq })))).toEqual(
    where(page.messages),
  );
  expect(byIndex.nextCursor).toEqual(page.nextCursor);
  return page;
}

/** The seqs found in one conversation (the first page), newest first. */
async function seqsFound(user: TestUser, q: string, conversationID: string): Promise<number[]> {
  const page = await search(user, { q, conversationID });
  return page.messages.map((m) => m.seq);
}

/** The marked words of a hit, as a client would show them. */
const marked = (hit: MessageSearchHitJson) => hit.highlights.map(([s, e]) => hit.snippet.slice(s, e));

/** A word no other test (or run) sends, so a search finds only this test's messages. */
const unique = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;

const post = (path: string, user: TestUser, body: unknown = {}) => api(path, { body, token: user.token });

describe("finding words inside sentences", () => {
  it("finds English, Chinese and Japanese words inside sentences, highlights them, and keeps 1–2 character words", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("zq");
    const conversationID = singleConversationId(a.userId, b.userId);
    await socket.sendText(a.userId, b.userId, `Hello wonderful World ${tag}`);
    await socket.sendText(a.userId, b.userId, `我们明天去北京吃饭吧 ${tag}`);
    await socket.sendText(a.userId, b.userId, `昨日は東京タワーに行きました ${tag}`);
    await socket.sendText(a.userId, b.userId, `北方很冷 ${tag}`);
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([4, 3, 2, 1]);

    // Inside a word, any case.
    const english = await search(b, { q: `WONDER ${tag}`, conversationID });
    expect(english.messages.map((m) => m.seq)).toEqual([1]);
    expect(english.messages[0]).toMatchObject({
      conversationID,
      conversationType: 1,
      senderID: a.userId,
      messageType: 1,
      snippet: `Hello wonderful World ${tag}`,
    });
    expect(marked(english.messages[0]!).map((w) => w.toLowerCase())).toEqual(["wonder", tag]);
    expect(english.messages[0]!.serverMsgID).toMatch(/\S/);
    expect(english.messages[0]!.serverTime).toBeGreaterThan(0);

    // Inside a Chinese sentence, through the index (4 characters) and without it (2 characters).
    expect((await search(b, { q: "北京吃饭", conversationID })).messages.map((m) => m.seq)).toEqual([2]);
    const twoChars = await search(b, { q: "北京", conversationID });
    expect(twoChars.messages.map((m) => m.seq)).toEqual([2]);
    expect(marked(twoChars.messages[0]!)).toEqual(["北京"]);
    // One character: both sentences holding 北.
    expect((await search(b, { q: "北", conversationID })).messages.map((m) => m.seq)).toEqual([4, 2]);
    // A 2-character word with a longer one: the index narrows, the short word must be there too.
    expect((await search(b, { q: `北京 ${tag}`, conversationID })).messages.map((m) => m.seq)).toEqual([2]);
    expect((await search(b, { q: `上海 ${tag}`, conversationID })).messages).toEqual([]);

    // Japanese: katakana inside a sentence.
    const japanese = await search(b, { q: "タワー", conversationID });
    expect(japanese.messages.map((m) => m.seq)).toEqual([3]);
    expect(marked(japanese.messages[0]!)).toEqual(["タワー"]);
    // Every word must be there.
    expect((await search(b, { q: `wonderful 东京`, conversationID })).messages).toEqual([]);
    socket.close();
  });

  it("cuts a long message around the first match and marks the words in the excerpt", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("cut");
    const text = `${"lorem ipsum ".repeat(30)}${tag} ${"dolor sit ".repeat(30)}`;
    await socket.sendText(a.userId, b.userId, text);
    await expect.poll(async () => (await search(b, { q: tag })).messages.length).toBe(1);
    const [hit] = (await search(b, { q: tag })).messages;
    expect(hit!.snippet.startsWith("…")).toBe(true);
    expect(hit!.snippet.endsWith("…")).toBe(true);
    expect(hit!.snippet.length).toBeLessThanOrEqual(122);
    expect(marked(hit!)).toEqual([tag]);
    socket.close();
  });
});

describe("only what the caller may read", () => {
  it("never finds a one-to-one conversation the caller is not in", async () => {
    const [a, b, outsider] = [await newUser("a"), await newUser("b"), await newUser("o")];
    const socket = await TestSocket.connect(a);
    const tag = unique("priv");
    await socket.sendText(a.userId, b.userId, `secret ${tag}`);
    await socket.sendText(a.userId, b.userId, `秘密 ${tag}`);
    const conversationID = singleConversationId(a.userId, b.userId);
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([2, 1]);
    expect((await search(a, { q: tag })).messages).toHaveLength(2);
    // Neither by the index, nor by the scan of short words, nor by naming the conversation.
    expect((await search(outsider, { q: tag })).messages).toEqual([]);
    expect((await search(outsider, { q: "秘密" })).messages).toEqual([]);
    expect((await search(outsider, { q: tag, conversationID })).messages).toEqual([]);
    expect((await search(outsider, { q: "秘密", conversationID })).messages).toEqual([]);
    socket.close();
  });

  it("finds a group's messages only from the caller's join on", async () => {
    const [owner, joiner] = [await newUser("o"), await newUser("j")];
    const group = await createGroup(owner, []);
    const conversationID = `group_${group.groupID}`;
    const socket = await TestSocket.connect(owner);
    const tag = unique("join");
    await sendToGroup(socket, group.groupID, `before ${tag} 早前`); // seq 2 (1 is the creation notice)
    expect((await post(`/api/group/${group.groupID}/join`, joiner)).body.code).toBe(0); // seq 3
    await sendToGroup(socket, group.groupID, `after ${tag} 之后`); // seq 4
    await expect.poll(() => seqsFound(owner, tag, conversationID)).toEqual([4, 2]);
    await expect.poll(() => seqsFound(joiner, tag, conversationID)).toEqual([4]);
    expect((await search(joiner, { q: tag })).messages.map((m) => m.seq)).toEqual([4]);
    expect((await search(joiner, { q: "早前" })).messages).toEqual([]);
    expect((await search(joiner, { q: "之后" })).messages.map((m) => m.seq)).toEqual([4]);
    socket.close();
  });

  it("finds nothing a member missed after leaving or being kicked, and everything up to it", async () => {
    const [owner, leaver, kicked] = [await newUser("o"), await newUser("l"), await newUser("k")];
    const group = await createGroup(owner, [leaver, kicked]); // seq 1
    const conversationID = `group_${group.groupID}`;
    const socket = await TestSocket.connect(owner);
    const tag = unique("gone");
    await sendToGroup(socket, group.groupID, `while in ${tag} 在群`); // seq 2
    expect((await post(`/api/group/${group.groupID}/leave`, leaver)).body.code).toBe(0); // seq 3
    expect(
      (await post(`/api/group/${group.groupID}/kick`, owner, { userIDs: [kicked.userId] })).body.code,
    ).toBe(0); // seq 4
    await sendToGroup(socket, group.groupID, `once gone ${tag} 走后`); // seq 5
    await expect.poll(() => seqsFound(owner, tag, conversationID)).toEqual([5, 2]);
    for (const gone of [leaver, kicked]) {
      expect(await seqsFound(gone, tag, conversationID)).toEqual([2]);
      expect((await search(gone, { q: "在群" })).messages.map((m) => m.seq)).toEqual([2]);
      expect((await search(gone, { q: "走后" })).messages).toEqual([]);
    }
    // Invited back, the kicked member reads from the invitation on: not what was said meanwhile,
    // and (as in sync) no longer what they read before.
    expect(
      (await post(`/api/group/${group.groupID}/invite`, owner, { userIDs: [kicked.userId] })).body.code,
    ).toBe(0); // seq 6
    await sendToGroup(socket, group.groupID, `back again ${tag}`); // seq 7
    await expect.poll(() => seqsFound(kicked, tag, conversationID)).toEqual([7]);
    expect(await seqsFound(leaver, tag, conversationID)).toEqual([2]);
    socket.close();
  });

  it("never finds a revoked message, by any word", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("rev");
    const conversationID = singleConversationId(a.userId, b.userId);
    const kept = await socket.sendText(a.userId, b.userId, `kept ${tag} 留下`);
    const gone = await socket.sendText(a.userId, b.userId, `oops ${tag} 撤回`);
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([2, 1]);
    const revoked = await revoke(socket, conversationID, gone.serverMsgId!);
    expect(revoked.errorCode ?? Err.ERR_SUCCESS).toBe(Err.ERR_SUCCESS);
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([1]);
    expect(await seqsFound(a, tag, conversationID)).toEqual([1]);
    expect((await search(b, { q: "oops" })).messages).toEqual([]);
    expect((await search(b, { q: "撤回" })).messages).toEqual([]);
    expect((await search(b, { q: "留下" })).messages.map((m) => m.serverMsgID)).toEqual([kept.serverMsgId]);
    // The index forgot the row cleanly (a contentless index given the wrong text would not be).
    await (
      await historyD1(conversationID)
    )
      .prepare("INSERT INTO message_search (message_search) VALUES ('integrity-check')")
      .run();
    socket.close();
  });

  it("never finds a message an admin took down", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("down");
    const conversationID = singleConversationId(a.userId, b.userId);
    await socket.sendText(a.userId, b.userId, `fine ${tag}`);
    const abuse = await socket.sendText(a.userId, b.userId, `abuse ${tag}`);
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([2, 1]);
    await adminOk("/messages/remove", { body: { conversationID, seq: abuse.seq } });
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([1]);
    expect((await search(a, { q: "abuse" })).messages).toEqual([]);
    socket.close();
  });
});

describe("paging and filters", () => {
  it("pages newest first with a cursor that neither repeats nor skips while new messages arrive", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("page");
    const conversationID = singleConversationId(a.userId, b.userId);
    for (let i = 1; i <= 25; i++) await socket.sendText(a.userId, b.userId, `${tag} number ${i}`);
    await expect.poll(async () => (await search(b, { q: tag, limit: 50 })).messages.length).toBe(25);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: MessageSearchPageJson = await search(b, {
        q: tag,
        limit: 10,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.messages.map((m) => m.seq));
      cursor = page.nextCursor;
      pages++;
      // Newer messages arrive between pages: they belong before the first page, not in the next ones.
      if (pages === 1) await socket.sendText(a.userId, b.userId, `${tag} late`);
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    await expect.poll(async () => (await search(b, { q: tag, limit: 1 })).messages[0]?.seq).toBe(26);
    expect((await search(b, { q: tag, conversationID, limit: 50 })).nextCursor).toBeNull();
    socket.close();
  });

  it("pages the same way through words too short for the index", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const conversationID = singleConversationId(a.userId, b.userId);
    for (let i = 1; i <= 7; i++) await socket.sendText(a.userId, b.userId, `第${i}次 你好`);
    await expect.poll(() => seqsFound(b, "你好", conversationID)).toHaveLength(7);
    const first = await search(b, { q: "你好", conversationID, limit: 4 });
    expect(first.messages.map((m) => m.seq)).toEqual([7, 6, 5, 4]);
    const second = await search(b, { q: "你好", conversationID, limit: 4, cursor: first.nextCursor! });
    expect(second.messages.map((m) => m.seq)).toEqual([3, 2, 1]);
    expect(second.nextCursor).toBeNull();
    socket.close();
  });

  it("filters by conversation, sender and time", async () => {
    const [me, b, c] = [await newUser("me"), await newUser("b"), await newUser("c")];
    const [mine, bSocket, cSocket] = [
      await TestSocket.connect(me),
      await TestSocket.connect(b),
      await TestSocket.connect(c),
    ];
    const tag = unique("filt");
    await mine.sendText(me.userId, b.userId, `${tag} me to b`);
    await bSocket.sendText(b.userId, me.userId, `${tag} b to me`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const middle = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cSocket.sendText(c.userId, me.userId, `${tag} c to me`);
    await expect.poll(async () => (await search(me, { q: tag })).messages.length).toBe(3);
    const withB = singleConversationId(me.userId, b.userId);
    const withC = singleConversationId(me.userId, c.userId);

    const texts = async (params: Record<string, string | number>) =>
      (await search(me, { q: tag, ...params })).messages.map((m) => m.snippet.replace(`${tag} `, ""));
    // Newest first by server time across conversations, though each conversation's history
    // reaches D1 on its own schedule.
    expect(await texts({})).toEqual(["c to me", "b to me", "me to b"]);
    expect(await texts({ conversationID: withB })).toEqual(["b to me", "me to b"]);
    expect(await texts({ conversationID: withC })).toEqual(["c to me"]);
    expect(await texts({ senderID: b.userId })).toEqual(["b to me"]);
    expect(await texts({ senderID: me.userId, conversationID: withC })).toEqual([]);
    expect(await texts({ from: middle })).toEqual(["c to me"]);
    expect(await texts({ to: middle })).toEqual(["b to me", "me to b"]);
    expect(await texts({ from: middle, to: middle + 60_000, senderID: c.userId })).toEqual(["c to me"]);
    // Blank parameters, as a form sends them, are no filter.
    expect(await texts({ conversationID: "", senderID: "", from: "", to: "", cursor: "" })).toHaveLength(3);
    for (const s of [mine, bSocket, cSocket]) s.close();
  });

  it("through the index, gives a short page and a cursor when a word matches mostly elsewhere", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("many");
    await socket.sendText(a.userId, b.userId, `${tag} the one b may read`);
    const conversationID = singleConversationId(a.userId, b.userId);
    await expect.poll(() => seqsFound(b, tag, conversationID)).toEqual([1]);
    // More matches than one page examines, newer, in a conversation b is not in, written as the
    // history writer would (the triggers index them).
    const other = `group_${unique("other")}`;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       INSERT INTO messages (conversation_id, seq, server_msg_id, client_msg_id, sender_id,
         conversation_type, message_type, content, send_time, server_time)
       SELECT ?1, i, ?1 || '-' || i, 'c' || i, 'someone', 2, 1, CAST(?3 || ' elsewhere ' || i AS BLOB), ?4 + i, ?4 + i
       FROM n`,
    )
      .bind(other, MATCHES_EXAMINED_PER_PAGE + 10, tag, Date.now() + 1000)
      .run();

    const first = await searchDirect(b, { q: tag }, { scanMaxRows: 0 });
    expect(first.messages).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const second = await searchDirect(b, { q: tag, cursor: first.nextCursor! }, { scanMaxRows: 0 });
    expect(second.messages.map((m) => m.conversation_id)).toEqual([conversationID]);
    expect(second.nextCursor).toBeNull();
    // Words too short for the index walk every document the same way, a window at a time.
    const walk = { scanMaxRows: 0, rowsWalkedPerPage: 500 };
    const pages: SearchPage[] = [await searchDirect(b, { q: "b" }, walk)];
    while (pages.at(-1)!.nextCursor !== null && pages.length < 100)
      pages.push(await searchDirect(b, { q: "b", cursor: pages.at(-1)!.nextCursor! }, walk));
    expect(pages[0]!.messages).toEqual([]);
    expect(pages.length).toBeGreaterThan(4);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    expect(pages.flatMap((p) => p.messages.map((m) => m.text))).toEqual([`${tag} the one b may read`]);
    // b's own history is small: the route scans it, and the first page has the message.
    const response = await api<MessageSearchPageJson>(searchPath({ q: tag }), { token: b.token });
    expect(response.body.data!.messages.map((m) => m.seq)).toEqual([1]);
    expect(response.body.data!.nextCursor).toBeNull();
    socket.close();
  });

  it("walks one large conversation's own documents for short words, a bounded window a page", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationID = singleConversationId(a.userId, b.userId);
    // 1,200 messages of a and b, written as the history writer would; "熊猫" in the oldest 3 only.
    // Newer ones elsewhere hold it too: a walk over every document would find only those first.
    const insert = (
      conversation: string,
      type: number,
      count: number,
      time: number,
      word: (i: number) => string,
    ) =>
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO messages (conversation_id, seq, server_msg_id, client_msg_id, sender_id,
           conversation_type, message_type, content, send_time, server_time)
         SELECT ?1, i, ?1 || '-' || i, 'c' || i, ?3, ?4, 1,
           CAST((CASE WHEN i <= 3 THEN ?5 ELSE ?6 END) || ' 今天 ' || i AS BLOB), ?7 + i, ?7 + i
         FROM n`,
      )
        .bind(conversation, count, a.userId, type, word(0), word(1), time)
        .run();
    const now = Date.now();
    await insert(conversationID, 1, 1200, now, (i) => (i === 0 ? "熊猫" : "没有"));
    await insert(`group_${unique("other")}`, 2, 600, now + 10_000, () => "熊猫");

    const walk = { scanMaxRows: 0, rowsWalkedPerPage: 500 };
    const pages: SearchPage[] = [await searchDirect(b, { q: "熊猫", conversationID }, walk)];
    while (pages.at(-1)!.nextCursor !== null && pages.length < 10)
      pages.push(
        await searchDirect(b, { q: "熊猫", conversationID, cursor: pages.at(-1)!.nextCursor! }, walk),
      );
    // 1,200 documents, 500 a page: two empty pages with a cursor, then the three, then nothing.
    expect(pages.map((p) => p.messages.map((m) => m.seq))).toEqual([[], [], [3, 2, 1]]);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    // A full page goes on exactly after its last row.
    const first = await searchDirect(b, { q: "今天", conversationID, limit: 5 }, walk);
    expect(first.messages.map((m) => m.seq)).toEqual([1200, 1199, 1198, 1197, 1196]);
    const next = await searchDirect(
      b,
      { q: "今天", conversationID, limit: 5, cursor: first.nextCursor! },
      walk,
    );
    expect(next.messages.map((m) => m.seq)).toEqual([1195, 1194, 1193, 1192, 1191]);
    // The route scans this conversation (under SCAN_MAX_ROWS), whole: the same three on one page.
    expect((await search(b, { q: "熊猫", conversationID })).messages.map((m) => m.seq)).toEqual([3, 2, 1]);
  });
});

describe("bad queries", () => {
  it("refuses empty, missing, too long, syntax-only and malformed parameters with a clear 400", async () => {
    const user = await newUser("q");
    const refused = async (params: Record<string, string | number>) => {
      const response = await api(searchPath(params), { token: user.token });
      expect(refusal(response)).toBe(400);
      expect(response.body.message).not.toMatch(/SQL|D1_|fts5|syntax error/i);
      return response.body.message;
    };
    expect(await refused({})).toMatch(/^q:/);
    expect(await refused({ q: "" })).toMatch(/^q: must not be empty/);
    expect(await refused({ q: "   \t " })).toMatch(/^q: must not be empty/);
    expect(await refused({ q: "x".repeat(201) })).toMatch(/^q: at most 200 characters/);
    expect(await refused({ q: "北".repeat(201) })).toMatch(/^q: at most 200 characters/);
    expect(await refused({ q: "a ".repeat(5000) })).toMatch(/^q: at most 200 characters/);
    expect(await refused({ q: "x".repeat(10 * 1024) })).toMatch(/^q: at most 200 characters/);
    expect(await refused({ q: "a b c d e f g h i j k" })).toMatch(/^q: at most 10 words/);
    for (const syntax of ['"', "*", '" "', "( ) ^ : *", "-", "{}"]) {
      expect(await refused({ q: syntax })).toMatch(/^q: has no word to search for/);
    }
    expect(await refused({ q: "hello", limit: 0 })).toMatch(/^limit:/);
    expect(await refused({ q: "hello", limit: 51 })).toMatch(/^limit:/);
    expect(await refused({ q: "hello", cursor: "abc" })).toMatch(/^cursor:/);
    expect(await refused({ q: "hello", cursor: "-1" })).toMatch(/^cursor:/);
    expect(await refused({ q: "hello", conversationID: "nope" })).toMatch(/^conversationID:/);
    expect(await refused({ q: "hello", senderID: "a_b" })).toMatch(/^senderID:/);
    expect(await refused({ q: "hello", from: "yesterday" })).toMatch(/^from:/);
    expect(await refused({ q: "hello", from: 2000, to: 1000 })).toMatch(/^to:/);
  });

  it("searches FTS syntax as plain text: it can neither fail nor widen the search", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("syn");
    await socket.sendText(a.userId, b.userId, `${tag} c++ is "quoted" (here)`);
    await socket.sendText(a.userId, b.userId, `${tag}x unrelated`);
    await expect.poll(async () => (await search(b, { q: tag })).messages.length).toBe(2);
    const found = async (q: string) => (await search(b, { q })).messages.map((m) => m.seq);
    // Operators that would widen the match (OR, a prefix *, NOT) are words here.
    expect(await found(`${tag} OR nothing`)).toEqual([]);
    expect(await found(`${tag}x OR ${tag}`)).toEqual([]);
    expect(await found(`${tag} NOT unrelated`)).toEqual([]);
    expect(await found(`c++ ${tag}`)).toEqual([1]);
    expect(await found(`"quoted" ${tag}`)).toEqual([1]);
    expect(await found(`(here) ${tag}`)).toEqual([1]);
    for (const q of [
      `${tag}*`,
      `NEAR(${tag} c++)`,
      `body:${tag}`,
      `^${tag}`,
      `"${tag}`,
      `${tag}" OR "x`,
      "'; DROP TABLE messages; --",
    ]) {
      const response = await api<MessageSearchPageJson>(searchPath({ q }), { token: b.token });
      expect(response.status).toBe(200);
      expect(response.body.code, `${q}: ${response.body.message}`).toBe(0);
      expect(response.body.data!.messages).toEqual([]);
    }
    socket.close();
  });

  it("needs a token", async () => {
    const response = await api(searchPath({ q: "hello" }));
    expect(response.status).toBe(401);
    expect(response.body.code).toBe(401);
  });
});

describe("the search throttle", () => {
  it("refuses a user's searches past SEARCHES_PER_MINUTE with 429 and Retry-After, and no one else's", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const perMinute = readSettings(env).searchesPerMinute;
    // The minute's budget spent but one (as by perMinute - 1 searches), then two more searches.
    const guard = env.GUARD_OBJECT.getByName(`search-user:${a.userId}`);
    expect((await guard.take(perMinute, SEARCH_WINDOW_MS, perMinute - 1)).allowed).toBe(true);
    expect((await api(searchPath({ q: "hello" }), { token: a.token })).body.code).toBe(0);
    const response = await exports.default.fetch(`${ORIGIN}${searchPath({ q: "hello" })}`, {
      headers: { Authorization: `Bearer ${a.token}` },
    });
    expect(response.status).toBe(200);
    const body = await response.json<{ code: number; message: string; data: unknown }>();
    expect(body).toMatchObject({ code: 429, data: null });
    expect(body.message).toMatch(/too many searches: at most \d+ a minute: try again in \d+ s/);
    const retryAfter = Number(response.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(SEARCH_WINDOW_MS / 1000);
    // A refused or throttled search counts nothing; another user searches as before.
    expect(await guard.remaining(perMinute, SEARCH_WINDOW_MS)).toBe(0);
    expect((await api(searchPath({ q: "hello" }), { token: b.token })).body.code).toBe(0);
  });

  it("counts no refused query: a 400 leaves the budget as it was", async () => {
    const a = await newUser("a");
    const perMinute = readSettings(env).searchesPerMinute;
    const guard = env.GUARD_OBJECT.getByName(`search-user:${a.userId}`);
    expect(refusal(await api(searchPath({ q: "" }), { token: a.token }))).toBe(400);
    expect(await guard.remaining(perMinute, SEARCH_WINDOW_MS)).toBe(perMinute);
    expect((await api(searchPath({ q: "hello" }), { token: a.token })).body.code).toBe(0);
    expect(await guard.remaining(perMinute, SEARCH_WINDOW_MS)).toBe(perMinute - 1);
  });
});

describe("the index and reader ranges in D1", () => {
  it("keeps the reader ranges the group's own object keeps, through joins, approvals, leaves, kicks and returns", async () => {
    const users = await Promise.all(["o", "m", "m", "m", "m", "m"].map((p) => newUser(p)));
    const [owner, m1, m2, m3, m4, m5] = users as [TestUser, TestUser, TestUser, TestUser, TestUser, TestUser];
    const group = await createGroup(owner, [m1, m2, m3]);
    const g = group.groupID;
    const ok = async (path: string, user: TestUser, body: unknown = {}) =>
      expect((await post(`/api/group/${g}/${path}`, user, body)).body.code).toBe(0);
    await ok("leave", m1);
    await ok("kick", owner, { userIDs: [m2.userId] });
    await ok("invite", owner, { userIDs: [m2.userId] });
    await ok("join-mode", owner, { joinMode: "approval" });
    for (const u of [m4, m5, m1]) expect((await post(`/api/group/${g}/join`, u)).body.code).toBe(202);
    await ok("requests/approve", owner, { userIDs: [m4.userId, m1.userId] });
    await ok("kick", owner, { userIDs: [m5.userId] }); // a requester: banned, never a member
    await ok("leave", m3);

    const conversationId = `group_${g}`;
    const objectRanges = await runInDurableObject(
      env.CONVERSATION_OBJECT.getByName(conversationId),
      (_o, state) =>
        state.storage.sql
          .exec<{ user_id: string; first_seq: number; left_seq: number | null }>(
            "SELECT user_id, first_seq, left_seq FROM members ORDER BY user_id",
          )
          .toArray()
          .map((r) => ({ ...r })),
    );
    expect(objectRanges.map((r) => r.user_id)).toEqual([owner, m1, m2, m3, m4].map((u) => u.userId).sort());
    const d1Ranges = async () =>
      (
        await (
          await historyD1(conversationId)
        )
          .prepare(
            "SELECT user_id, first_seq, last_seq AS left_seq FROM history_readers WHERE conversation_id = ? ORDER BY user_id",
          )
          .bind(conversationId)
          .all()
      ).results;
    await expect.poll(d1Ranges).toEqual(objectRanges);
  });

  it("gives every message its own document id, even more than 1,024 in one millisecond, and never fails the write", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationID = singleConversationId(a.userId, b.userId);
    const tag = unique("same");
    const at = Date.now() + 5_000;
    const insert = (from: number, count: number) =>
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 + ?3 - 1)
         INSERT INTO messages (conversation_id, seq, server_msg_id, client_msg_id, sender_id,
           conversation_type, message_type, content, send_time, server_time)
         SELECT ?1, i, ?1 || '-' || i, 'c' || i, ?5, 1, 1, CAST(?4 || ' at once ' || i AS BLOB), ?6, ?6 FROM n`,
      )
        .bind(conversationID, from, count, tag, a.userId, at)
        .run();
    await insert(1, 1000);
    await insert(1001, 30); // past the millisecond's 1,024 ids
    const ids = await env.DB.prepare(
      "SELECT count(*) AS n, count(DISTINCT doc_id) AS distinct_ids, min(doc_id) AS first FROM message_search_docs WHERE conversation_id = ?",
    )
      .bind(conversationID)
      .first<{ n: number; distinct_ids: number; first: number }>();
    expect(ids).toEqual({ n: 1030, distinct_ids: 1030, first: at * 1024 });
    const all: number[] = [];
    let cursor: string | null = null;
    do {
      const page: MessageSearchPageJson = await search(b, {
        q: tag,
        limit: 50,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.messages.map((m) => m.seq));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(all).size).toBe(1030);
    await env.DB.prepare("INSERT INTO message_search (message_search) VALUES ('integrity-check')").run();
  });

  it("rebuilds from the history the same index and ranges the triggers keep (the migration's backfill)", async () => {
    // The one-to-one below on a history shard, whose rebuild has no `conversations` table to go by.
    const owner = await newUser("o");
    const [m1, m2] = [await newUser("m"), (await partnerOnShard(owner, "HISTORY_1")).b];
    const group = await createGroup(owner, [m1, m2]);
    const socket = await TestSocket.connect(owner);
    const tag = unique("fill");
    await sendToGroup(socket, group.groupID, `${tag} one`);
    await post(`/api/group/${group.groupID}/kick`, owner, { userIDs: [m1.userId] });
    await post(`/api/group/${group.groupID}/leave`, m2);
    await post(`/api/group/${group.groupID}/invite`, owner, { userIDs: [m1.userId] });
    await socket.sendText(owner.userId, m2.userId, `${tag} two`);
    await expect.poll(async () => (await search(owner, { q: tag })).messages.length).toBe(2);
    const conversationID = `group_${group.groupID}`;
    // Each conversation's ranges are on its own history shard.
    const ranges = async () => {
      const rows = [];
      for (const id of [conversationID, singleConversationId(owner.userId, m2.userId)]) {
        const { results } = await (
          await historyD1(id)
        )
          .prepare(
            "SELECT user_id, first_seq, last_seq FROM history_readers WHERE conversation_id = ? ORDER BY user_id",
          )
          .bind(id)
          .all();
        rows.push(...results);
      }
      return rows;
    };
    const byTriggers = await ranges();
    expect(byTriggers).toEqual(
      expect.arrayContaining([
        { user_id: owner.userId, first_seq: 1, last_seq: null },
        { user_id: m1.userId, first_seq: 5, last_seq: null },
        { user_id: m2.userId, first_seq: 1, last_seq: 4 },
      ]),
    );

    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0005_message_search"))!;
    const withoutComments = (q: string) => q.replace(/^\s*--.*$/gm, "").trim();
    const backfill = migration.queries.map(withoutComments).filter((q) => /^INSERT/i.test(q));
    expect(backfill).toHaveLength(4);
    // On every shard: each rebuilds from its own history.
    for (const [, d1] of historyShardD1s())
      await d1.batch([
        d1.prepare("INSERT INTO message_search (message_search) VALUES ('delete-all')"),
        d1.prepare("DELETE FROM history_readers"),
        d1.prepare("DELETE FROM message_search_docs"),
        ...backfill.map((q) => d1.prepare(q)),
      ]);
    expect(await ranges()).toEqual(byTriggers);
    expect((await search(owner, { q: tag })).messages.map((m) => m.snippet)).toEqual([
      `${tag} two`,
      `${tag} one`,
    ]);
    expect((await search(m2, { q: tag })).messages.map((m) => m.snippet)).toEqual([
      `${tag} two`,
      `${tag} one`,
    ]);
    expect((await search(m1, { q: tag })).messages).toEqual([]);
    socket.close();
  });
});

describe("backing up the database", () => {
  it("drops search for an export (no virtual table left) and rebuilds it from the history", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const socket = await TestSocket.connect(a);
    const tag = unique("bak");
    await socket.sendText(a.userId, b.userId, `${tag} kept through the backup`);
    await expect.poll(async () => (await search(b, { q: tag })).messages.length).toBe(1);
    // The export of the shard holding this conversation (README: each shard is exported the same way).
    const history = await historyD1(singleConversationId(a.userId, b.userId));

    const drop = env.TEST_SEARCH_INDEX_SQL.find((f) => f.name === "drop.sql")!;
    await history.batch(drop.queries.map((q) => history.prepare(q)));
    const virtualTables = await history
      .prepare("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
      .all();
    expect(virtualTables.results).toEqual([]);
    // History still reaches D1 meanwhile: nothing on `messages` refers to what was dropped.
    await socket.sendText(a.userId, b.userId, `${tag} written while search was out`);
    await expect
      .poll(async () => {
        const row = await history
          .prepare("SELECT count(*) AS n FROM messages WHERE conversation_id = ?")
          .bind(singleConversationId(a.userId, b.userId))
          .first<{ n: number }>();
        return row?.n;
      })
      .toBe(2);

    for (const name of ["0005_message_search", "0008_message_search_by_conversation"]) {
      const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(name))!;
      await history.batch(migration.queries.map((q) => history.prepare(q)));
    }
    const index = await history
      .prepare("SELECT name FROM sqlite_master WHERE name = 'message_search_docs_conversation'")
      .first();
    expect(index).not.toBeNull();
    const found = await search(b, { q: tag });
    expect(found.messages.map((m) => m.seq)).toEqual([2, 1]);
    await history.prepare("INSERT INTO message_search (message_search) VALUES ('integrity-check')").run();
    socket.close();
  });
});
