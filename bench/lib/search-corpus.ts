// The search scenario's history: `messages` rows written straight into the local D1 database before
// `wrangler dev` starts (sending a million messages through the server would take most of an hour).
// Every row goes through the real `messages` table, so the migration's triggers build the trigram
// index, the document ids and the reader ranges exactly as they do for the history writers' rows;
// group membership comes from real join and leave notices. Users are rows of `users` with a bcrypt
// hash, so the searcher logs in through the API as anyone does.
//
// The history, in server_time order over the last `days` days: one searcher with one-to-ones and
// groups holding `userMessages` of the `messages`, everyone else's conversations the rest. 92% text
// (70% English, 30% Chinese), 8% images (JSON, not indexed). Words are drawn from fixed lists with
// a seeded generator, plus planted words at known rates, so each query kind has a known frequency.
import bcrypt from "bcryptjs";
import { ulid } from "ulid";
import { groupConversationId, singleConversationId } from "../../src/protocol/conversation-id.ts";
import { migrateLocalD1, openLocalD1 } from "./local-d1.ts";

export interface CorpusOptions {
  /** Messages stored in all. */
  messages: number;
  /** Of them, in the searcher's conversations (before the ranges a join and a leave cut). */
  userMessages: number;
  /** The searcher's one-to-ones and groups. */
  userSingles: number;
  userGroups: number;
  /** Everyone else's conversations (one-to-ones and groups, 4 to 1). */
  otherConversations: number;
  /** Members of each group, the searcher included where it is one. */
  groupSize: number;
  /** The history spans this many days, ending an hour ago. */
  days: number;
  seed: number;
}

/** Words planted at known rates; the queries name them. */
export const PLANTED = {
  /** In 3% of English texts. */
  common: "tomorrow",
  /** Each in 2% of English texts, independently: together in ~0.04%. */
  pair: ["project", "deadline"],
  /** In 0.01% of English texts. */
  rare: "zanzibar",
  /** In 2% of English texts in other people's conversations only: every match is someone else's. */
  elsewhere: "marmalade",
  /** A Chinese word in 2% of Chinese texts (3 characters: the index serves it). */
  chinese: "会议室",
  /** The list's most common Chinese word, 2 characters (too short for the index): in ~70% of Chinese texts. */
  chineseShort: "我们",
} as const;

export interface Corpus {
  username: string;
  password: string;
  userId: string;
  /** The searcher's largest conversation (a group), and its largest one-to-one. */
  largestGroup: string;
  largestSingle: string;
  counts: {
    messages: number;
    text: number;
    /** Rows the searcher may read (history_readers ranges), all types. */
    readable: number;
    largestGroup: number;
    largestSingle: number;
  };
  /** Wall-clock seconds to migrate and write it all. */
  seconds: number;
  rowsPerSecond: number;
}

const ENGLISH = (
  "the you to and a of it is that in for on have i we be this with are not at can do will just " +
  "what so your get all about was if but me like know how up out one time good see think there " +
  "they go ok yes no today night later thanks please call send back now here want need some " +
  "when then well also still really sure make sounds great work home morning week weekend lunch " +
  "dinner coffee office team meeting plan check file update review change build release issue " +
  "test deploy server client message phone email photo video link order price money account " +
  "ticket trip flight hotel train station city road weather rain sun happy sorry problem question " +
  "answer idea minute hour friday monday early late soon already maybe probably definitely"
).split(" ");

const CHINESE = (
  "我们 你 我 他 她 今天 明天 昨天 晚上 早上 中午 下午 一起 吃饭 开会 工作 公司 同事 老板 项目 " +
  "文件 发送 收到 看看 可以 没有 已经 还是 什么 怎么 为什么 因为 所以 但是 如果 知道 觉得 时间 " +
  "地方 北京 上海 深圳 广州 天气 下雨 出去 回家 电话 微信 照片 视频 朋友 周末 计划 问题 需要 " +
  "准备 安排 确认 谢谢 好的 没问题 马上 等一下 辛苦了 加油 哈哈 真的 非常 一下 现在 以后 之前"
).split(" ");

/** Seeded and fast: mulberry32. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks from `items` with Zipf-like weights (rank^-1), by binary search over the cumulative sum. */
function zipfPicker<T>(items: readonly T[], random: () => number, exponent = 1): () => T {
  const cumulative: number[] = [];
  let sum = 0;
  for (let i = 0; i < items.length; i++) cumulative.push((sum += 1 / (i + 1) ** exponent));
  return () => items[lowerBound(cumulative, random() * sum)] as T;
}

function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Conversation {
  id: string;
  type: 1 | 2;
  members: string[];
  /** Messages it gets, drawn in order over the whole span. */
  quota: number;
  seq: number;
  mine: boolean;
  /** Notices due at these message counts: [after how many messages, the notice]. */
  notices: { at: number; payload: Record<string, unknown>; sender: string }[];
}

/** Splits `total` over `n` conversations by Zipf weights (rank^-exponent), largest first. */
function split(total: number, n: number, exponent: number): number[] {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** exponent);
  const sum = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.floor((w / sum) * total));
  counts[0]! += total - counts.reduce((a, b) => a + b, 0);
  return counts;
}

/**
 * Migrates the local D1 database under `persistDir` and fills it. The server must not be running:
 * workerd keeps its own handle on the file.
 */
export async function writeCorpus(persistDir: string, o: CorpusOptions): Promise<Corpus> {
  const started = performance.now();
  migrateLocalD1(persistDir);
  const db = openLocalD1(persistDir, { readOnly: false });
  try {
    // Local to this connection: the file's journal mode stays what wrangler made it.
    db.exec("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;");
    const random = generator(o.seed);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
    const now = Date.now();
    const password = "bench-search-password";
    const runTag = now.toString(36);
    const username = `bsearch${runTag}`;
    const passwordHash = await bcrypt.hash(password, 4);

    // People: the searcher, their peers and fellow members, and everyone else.
    const userId = ulid();
    const people = Array.from({ length: Math.max(200, o.otherConversations) }, () => ulid());
    const insertUser = db.prepare(
      "INSERT INTO users (id, username, nickname, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    db.exec("BEGIN");
    insertUser.run(userId, username, username, passwordHash, now, now);
    people.forEach((id, i) => insertUser.run(id, `bs${runTag}p${i}`, `peer ${i}`, passwordHash, now, now));
    db.exec("COMMIT");

    // Conversations. The searcher's: the largest group holds ~30% of their messages (large enough
    // to be searched through the index), the rest Zipf-like; one group they join half-way, one
    // they leave three quarters in.
    const conversations: Conversation[] = [];
    const groupMembers = (withSearcher: boolean) => {
      const members = new Set<string>(withSearcher ? [userId] : []);
      while (members.size < o.groupSize) members.add(pick(people));
      return [...members];
    };
    const largest = Math.round(o.userMessages * 0.3);
    const mineCounts = [largest, ...split(o.userMessages - largest, o.userSingles + o.userGroups - 1, 0.8)];
    for (let k = 0; k < o.userSingles + o.userGroups; k++) {
      const quota = mineCounts[k] as number;
      // Index 0 and every other one up to userGroups are groups; the others one-to-ones.
      const isGroup = k === 0 || (k % 2 === 1 && Math.floor(k / 2) < o.userGroups - 1);
      if (isGroup) {
        const members = groupMembers(true);
        const owner = k === 1 ? (members[1] as string) : userId;
        const joinsLater = k === 1;
        const leaves = k === 3;
        const created = members.filter((m) => m !== owner && !(joinsLater && m === userId));
        const notices: Conversation["notices"] = [
          { at: 0, sender: owner, payload: { type: "group_created", operatorID: owner, userIDs: created } },
        ];
        if (joinsLater)
          notices.push({
            at: Math.floor(quota / 2),
            sender: owner,
            payload: { type: "member_invited", operatorID: owner, userIDs: [userId] },
          });
        if (leaves)
          notices.push({
            at: Math.floor((quota * 3) / 4),
            sender: userId,
            payload: { type: "member_left", operatorID: userId, userIDs: [userId] },
          });
        conversations.push({
          id: groupConversationId(ulid()),
          type: 2,
          members,
          quota,
          seq: 0,
          mine: true,
          notices,
        });
      } else {
        const peer = people[k] as string;
        conversations.push({
          id: singleConversationId(userId, peer),
          type: 1,
          members: [userId, peer],
          quota,
          seq: 0,
          mine: true,
          notices: [],
        });
      }
    }
    const othersCounts = split(o.messages - o.userMessages, o.otherConversations, 0.6);
    for (let k = 0; k < o.otherConversations; k++) {
      const quota = othersCounts[k] as number;
      if (k % 5 === 4) {
        const members = groupMembers(false);
        const owner = members[0] as string;
        conversations.push({
          id: groupConversationId(ulid()),
          type: 2,
          members,
          quota,
          seq: 0,
          mine: false,
          notices: [
            {
              at: 0,
              sender: owner,
              payload: { type: "group_created", operatorID: owner, userIDs: members.slice(1) },
            },
          ],
        });
      } else {
        const a = people[k % people.length] as string;
        let b = pick(people);
        while (b === a) b = pick(people);
        conversations.push({
          id: singleConversationId(a, b),
          type: 1,
          members: [a, b],
          quota,
          seq: 0,
          mine: false,
          notices: [],
        });
      }
    }
    // Two random others may pick the same pair: keep one conversation per id.
    const unique = [...new Map(conversations.map((c) => [c.id, c])).values()];
    const insertConversation = db.prepare(
      "INSERT INTO conversations (id, type, member_a, member_b, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    db.exec("BEGIN");
    for (const c of unique) {
      const [a, b] = c.type === 1 ? [...c.members].sort() : [null, null];
      insertConversation.run(c.id, c.type, a ?? null, b ?? null, now);
    }
    db.exec("COMMIT");

    // The order of all messages: each conversation's quota of slots, shuffled over the span.
    const order = new Uint32Array(unique.reduce((n, c) => n + c.quota, 0));
    let filled = 0;
    unique.forEach((c, i) => order.fill(i, filled, (filled += c.quota)));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }

    const english = zipfPicker(ENGLISH, random);
    const chinese = zipfPicker(CHINESE, random, 0.9);
    const letters = "abcdefghijklmnopqrstuvwxyz";
    const noise = () =>
      Array.from({ length: 4 + Math.floor(random() * 7) }, () => pick([...letters])).join("");
    const englishText = (mine: boolean) => {
      const words = Array.from({ length: 4 + Math.floor(random() * 11) }, english);
      if (random() < 0.5) words.splice(Math.floor(random() * words.length), 0, noise());
      if (random() < 0.03) words.push(PLANTED.common);
      if (random() < 0.02) words.splice(Math.floor(random() * words.length), 0, PLANTED.pair[0]);
      if (random() < 0.02) words.splice(Math.floor(random() * words.length), 0, PLANTED.pair[1]);
      if (random() < 0.0001) words.push(PLANTED.rare);
      if (!mine && random() < 0.02) words.push(PLANTED.elsewhere);
      const text = words.join(" ");
      return text.charAt(0).toUpperCase() + text.slice(1) + pick([".", "!", "?", ""]);
    };
    const chineseText = () => {
      const words = Array.from({ length: 3 + Math.floor(random() * 10) }, chinese);
      if (random() < 0.02) words.splice(Math.floor(random() * words.length), 0, PLANTED.chinese);
      return words.join("") + pick(["。", "！", "？", ""]);
    };
    const encoder = new TextEncoder();

    const insert = db.prepare(
      `INSERT INTO messages (conversation_id, seq, server_msg_id, client_msg_id, sender_id, receiver_id,
         group_id, conversation_type, message_type, content, send_time, server_time)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const spanMs = o.days * 86_400_000;
    const firstTime = now - 3_600_000 - spanMs;
    const step = spanMs / order.length;
    const sent = new Uint32Array(unique.length);
    let text = 0;
    const BATCH = 20_000;
    db.exec("BEGIN");
    for (let i = 0; i < order.length; i++) {
      if (i > 0 && i % BATCH === 0) db.exec("COMMIT; BEGIN");
      const c = unique[order[i] as number] as Conversation;
      const index = order[i] as number;
      const serverTime = Math.floor(firstTime + i * step);
      const groupId = c.type === 2 ? c.id.slice("group_".length) : "";
      // Notices due before this message (a group's creation comes before its first message).
      while (c.notices.length > 0 && (c.notices[0] as Conversation["notices"][number]).at <= sent[index]!) {
        const notice = c.notices.shift() as Conversation["notices"][number];
        const content = encoder.encode(JSON.stringify(notice.payload));
        insert.run(
          c.id,
          ++c.seq,
          ulid(serverTime),
          `n${i}-${c.seq}`,
          notice.sender,
          "",
          groupId,
          2,
          8,
          content,
          serverTime,
          serverTime,
        );
      }
      sent[index]!++;
      const sender = pick(c.members);
      const receiver = c.type === 1 ? (c.members.find((m) => m !== sender) as string) : "";
      let messageType = 1;
      let content: string;
      if (random() < 0.08) {
        messageType = 2;
        content = JSON.stringify({
          url: `https://files.example/${ulid(serverTime)}.jpg`,
          width: 1280,
          height: 960,
        });
      } else {
        text++;
        content = random() < 0.7 ? englishText(c.mine) : chineseText();
      }
      insert.run(
        c.id,
        ++c.seq,
        ulid(serverTime),
        `c${i}`,
        sender,
        receiver,
        groupId,
        c.type,
        messageType,
        encoder.encode(content),
        serverTime - 40,
        serverTime,
      );
    }
    db.exec("COMMIT");

    const readable = (conversationId: string | null) =>
      Number(
        (
          db
            .prepare(
              `SELECT coalesce(sum(coalesce(r.last_seq,
                   (SELECT max(m.seq) FROM messages m WHERE m.conversation_id = r.conversation_id), 0)
                 - r.first_seq + 1), 0) AS n
               FROM history_readers r WHERE r.user_id = ? AND (? IS NULL OR r.conversation_id = ?)`,
            )
            .get(userId, conversationId, conversationId) as { n: number }
        ).n,
      );
    const mine = unique.filter((c) => c.mine);
    const largestGroup = (mine.find((c) => c.type === 2) as Conversation).id;
    const largestSingle = (mine.find((c) => c.type === 1) as Conversation).id;
    const rows = Number((db.prepare("SELECT count(*) AS n FROM messages").get() as { n: number }).n);
    const seconds = (performance.now() - started) / 1000;
    return {
      username,
      password,
      userId,
      largestGroup,
      largestSingle,
      counts: {
        messages: rows,
        text,
        readable: readable(null),
        largestGroup: readable(largestGroup),
        largestSingle: readable(largestSingle),
      },
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(rows / seconds),
    };
  } finally {
    db.close();
  }
}
