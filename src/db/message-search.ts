// Message search over D1: the trigram index `message_search`, its document ids
// `message_search_docs`, and the reader ranges `history_readers`, all kept by triggers on
// `messages` (schema/migrations/0005_message_search.sql). A row is a result only if the caller
// reads its conversation at its seq (from the notice they joined with, up to the one they left
// with), it is a text message, and it is not revoked.
//
// Three ways to find them. A caller whose readable history is small (most users, most single
// conversations) has it scanned by primary key, every word checked with instr(): exact, complete
// pages, and no cost from anyone else's messages. A larger one walks the trigram index; or, when
// every word is shorter than the 3 characters the index needs, every document newest first (only
// the conversation's, when one is asked for). Both walks examine a bounded window per page (D1
// runs one query at a time), so their pages may be short with a cursor to go on from.
//
// Results come newest first by document id, which is server_time * 1024 plus the message's place
// in its millisecond: the index is walked in that order and SQLite stops at the page's end instead
// of sorting every match of a common word. Paging is by that id (an exclusive cursor), which a row
// keeps for good, so a page never repeats or skips a row whatever is written meanwhile.
import { sql, type SQL } from "drizzle-orm";
import type { Database } from "./client";
import type { ParsedQuery } from "../search/query";

/** message_type of a text message, the only kind indexed (PROTOCOL.md, "Value sets"). */
export const TEXT_MESSAGE_TYPE = 1;

/**
 * Index matches examined for one page. D1 runs one query at a time, so a search for a common word
 * in conversations that hold few of its matches must not hold the database for long: past this,
 * the page may come back short (even empty) with a cursor to go on from.
 */
export const MATCHES_EXAMINED_PER_PAGE = 2000;

/**
 * Readable rows (of the caller, or of the conversation asked for) up to which scanning them beats
 * walking the index: a scan reads about 2 million rows a second in local D1, so this is ~10 ms.
 */
export const SCAN_MAX_ROWS = 20_000;

/**
 * Documents walked for one page when every word is shorter than 3 characters and the caller's
 * history (or the conversation asked for) is too large to scan: a bounded stretch of the newest,
 * as the index path examines. A whole large conversation scanned instead took 70 ms at 30,000
 * messages (docs/PERFORMANCE.md, "Search").
 */
export const ROWS_WALKED_PER_PAGE = 5000;

/** Above any document id: the cursor of a first page. */
const NO_CURSOR = Number.MAX_SAFE_INTEGER;

export interface SearchFilters {
  conversationId?: string;
  senderId?: string;
  /** server_time ≥ from (Unix ms). */
  from?: number;
  /** server_time < to (Unix ms). */
  to?: number;
}

export interface SearchRequest {
  userId: string;
  query: ParsedQuery;
  filters: SearchFilters;
  /** Only rows stored before this one (the previous page's cursor). */
  before: number | null;
  limit: number;
}

export interface FoundMessage {
  /** The document id: the order, and the cursor. */
  doc_id: number;
  conversation_id: string;
  conversation_type: number;
  seq: number;
  server_msg_id: string;
  sender_id: string;
  message_type: number;
  send_time: number;
  server_time: number;
  text: string;
}

export interface SearchPage {
  messages: FoundMessage[];
  /** Where the next page starts; null when nothing is left. */
  nextCursor: number | null;
}

/** Document ids per millisecond of server_time (the migration's 1024). */
export const DOC_IDS_PER_MS = 1024;

const FOUND_COLUMNS = sql.raw(
  `d.doc_id, m.conversation_id, m.conversation_type, m.seq, m.server_msg_id, m.sender_id,
   m.message_type, m.send_time, m.server_time, CAST(m.content AS TEXT) AS text`,
);

/**
 * What every result must satisfy beyond the index: readable, text, not revoked, the filters, and
 * `words` found by instr(), lower-cased on both sides (query.ts; SQLite's lower() folds ASCII only,
 * so the case of other letters counts here, where the index would ignore it).
 */
function conditions(request: SearchRequest, words: readonly string[]): SQL {
  const { filters } = request;
  const parts = [
    sql`m.seq >= r.first_seq AND (r.last_seq IS NULL OR m.seq <= r.last_seq)`,
    sql`m.is_revoked = 0 AND m.message_type = ${TEXT_MESSAGE_TYPE}`,
  ];
  if (filters.conversationId !== undefined) parts.push(sql`m.conversation_id = ${filters.conversationId}`);
  if (filters.senderId !== undefined) parts.push(sql`m.sender_id = ${filters.senderId}`);
  if (filters.from !== undefined) parts.push(sql`m.server_time >= ${filters.from}`);
  if (filters.to !== undefined) parts.push(sql`m.server_time < ${filters.to}`);
  for (const word of words) parts.push(sql`instr(lower(CAST(m.content AS TEXT)), ${word}) > 0`);
  return sql.join(parts, sql` AND `);
}

/** How a search chooses its way and bounds its work; the defaults suit production, tests shrink them. */
export interface SearchLimits {
  /** Scan the caller's readable history when it holds at most this many rows (0: never). */
  scanMaxRows: number;
  /** Index matches examined for one page. */
  matchesPerPage: number;
  /** Document ids walked for one page when every word is too short for the index. */
  rowsWalkedPerPage: number;
}

export const DEFAULT_LIMITS: SearchLimits = {
  scanMaxRows: SCAN_MAX_ROWS,
  matchesPerPage: MATCHES_EXAMINED_PER_PAGE,
  rowsWalkedPerPage: ROWS_WALKED_PER_PAGE,
};

/**
 * A page of the messages `request.userId` may read that hold every word, newest first: a small
 * readable history (or conversation) is scanned; a larger one walks the index, or, when every
 * word is too short for it, every document (of the conversation asked for) newest first, a
 * bounded stretch per page.
 */
export async function searchMessages(
  db: Database,
  request: SearchRequest,
  limits: Partial<SearchLimits> = {},
): Promise<SearchPage> {
  const { scanMaxRows, matchesPerPage, rowsWalkedPerPage } = { ...DEFAULT_LIMITS, ...limits };
  const { match, short, all } = request.query;
  if (scanMaxRows > 0 && (await readableRows(db, request)) <= scanMaxRows) return byScan(db, request, all);
  const { below, atLeast } = idRange(request);
  if (match !== null) {
    const window = sql`SELECT rowid AS id FROM message_search
      WHERE message_search MATCH ${match} AND rowid < ${below} AND rowid >= ${atLeast}
      ORDER BY rowid DESC LIMIT ${matchesPerPage}`;
    // One index word: its matches again, newest first, straight from the index. Several: their
    // intersection is the costly part, and its matches few, so the window is sorted instead.
    const indexWords = request.query.words.length - short.length;
    const inOrder =
      indexWords === 1
        ? {
            from: sql`message_search s CROSS JOIN message_search_docs d ON d.doc_id = s.rowid`,
            where: sql`s.message_search MATCH ${match}`,
            id: sql`s.rowid`,
          }
        : null;
    return byWindow(db, request, { window, size: matchesPerPage, inOrder }, short);
  }
  // Every word too short for the index: the newest documents (of the one conversation asked for,
  // by its index of migration 0008), a bounded window per page, every word checked in each.
  const { conversationId } = request.filters;
  const inConversation = conversationId !== undefined ? sql`d.conversation_id = ${conversationId}` : sql`1`;
  const window = sql`SELECT doc_id AS id FROM message_search_docs d
    WHERE ${inConversation} AND doc_id < ${below} AND doc_id >= ${atLeast}
    ORDER BY doc_id DESC LIMIT ${rowsWalkedPerPage}`;
  const inOrder = { from: sql`message_search_docs d`, where: inConversation, id: sql`d.doc_id` };
  return byWindow(db, request, { window, size: rowsWalkedPerPage, inOrder }, all);
}

/** How many rows the caller may read (in the conversation asked for): one seek per conversation. */
async function readableRows(db: Database, request: SearchRequest): Promise<number> {
  const { conversationId } = request.filters;
  const [row] = await db.all<{ n: number }>(sql`
    SELECT coalesce(sum(coalesce(r.last_seq,
        (SELECT max(m.seq) FROM messages m WHERE m.conversation_id = r.conversation_id), 0)
      - r.first_seq + 1), 0) AS n
    FROM history_readers r
    WHERE r.user_id = ${request.userId}
      ${conversationId !== undefined ? sql`AND r.conversation_id = ${conversationId}` : sql``}`);
  return row?.n ?? 0;
}

/** The document ids to look at: below the cursor, and within the dates when asked. */
function idRange(request: SearchRequest): { below: number; atLeast: number } {
  const { from, to } = request.filters;
  const below = Math.min(request.before ?? NO_CURSOR, to === undefined ? NO_CURSOR : to * DOC_IDS_PER_MS);
  return { below, atLeast: from === undefined ? 0 : from * DOC_IDS_PER_MS };
}

/**
 * Candidate documents below the cursor, newest first, a bounded window of them per page.
 * `window`: the first `size` ids (`id`), the index or the id order alone, no row read.
 * `inOrder`: the same documents again as `d` from `from` where `where`, in the order of their id
 * `id` (the index's own order: no sort), so that a page reads rows only until it is full; null
 * when producing them twice costs more than sorting the window once.
 */
interface Walk {
  window: SQL;
  size: number;
  inOrder: { from: SQL; where: SQL; id: SQL } | null;
}

/**
 * A page from a window of candidates: each one's document, row and the caller's range by primary
 * key, in that order (CROSS JOIN fixes it), and `words` checked with instr(). Newest first through
 * `walk.inOrder` when it is given: a common word's page stops after the candidates it needs, not
 * the whole window (docs/PERFORMANCE.md, "Search"); otherwise the window is materialized and the
 * page sorted. One statement; its first columns say how many candidates the window held, so a
 * short page knows whether more lie beyond.
 */
async function byWindow(
  db: Database,
  request: SearchRequest,
  walk: Walk,
  words: readonly string[],
): Promise<SearchPage> {
  type Row = Omit<FoundMessage, "doc_id"> & {
    doc_id: number | null;
    examined: number;
    oldest: number | null;
  };
  const joinRows = sql`
    CROSS JOIN messages m ON m.conversation_id = d.conversation_id AND m.seq = d.seq
    CROSS JOIN history_readers r ON r.user_id = ${request.userId} AND r.conversation_id = m.conversation_id`;
  const { inOrder } = walk;
  const rows = inOrder
    ? await db.all<Row>(sql`
        WITH examined AS (SELECT count(*) AS examined, min(id) AS oldest FROM (${walk.window})),
        hits AS (
          SELECT ${FOUND_COLUMNS}
          FROM ${inOrder.from} ${joinRows}
          WHERE ${inOrder.where} AND ${inOrder.id} < ${idRange(request).below}
            AND ${inOrder.id} >= (SELECT oldest FROM examined)
            AND ${conditions(request, words)}
          ORDER BY ${inOrder.id} DESC LIMIT ${request.limit + 1}
        )
        SELECT examined.examined, examined.oldest, hits.* FROM examined LEFT JOIN hits ORDER BY hits.doc_id DESC`)
    : await db.all<Row>(sql`
        WITH candidates AS MATERIALIZED (${walk.window}),
        examined AS (SELECT count(*) AS examined, min(id) AS oldest FROM candidates),
        hits AS (
          SELECT ${FOUND_COLUMNS}
          FROM candidates CROSS JOIN message_search_docs d ON d.doc_id = candidates.id ${joinRows}
          WHERE ${conditions(request, words)}
          ORDER BY d.doc_id DESC LIMIT ${request.limit + 1}
        )
        SELECT examined.examined, examined.oldest, hits.* FROM examined LEFT JOIN hits ORDER BY hits.doc_id DESC`);
  const found = rows.filter((row): row is Row & FoundMessage => row.doc_id !== null);
  const stats = rows[0];
  const page = pageOf(found, request.limit);
  if (page.nextCursor !== null || !stats) return page;
  // The page is short: more may lie past the window, unless it held every candidate.
  const more = stats.examined >= walk.size && stats.oldest !== null;
  return { messages: page.messages, nextCursor: more ? stats.oldest : null };
}

/**
 * Without the index: the caller's own readable history, by primary key, each conversation's range,
 * `words` checked in every row, then sorted newest first. Its cost is the caller's history (or one
 * conversation's, with that filter), never the whole table.
 */
async function byScan(db: Database, request: SearchRequest, words: readonly string[]): Promise<SearchPage> {
  const { below, atLeast } = idRange(request);
  const { conversationId } = request.filters;
  const found = await db.all<FoundMessage>(sql`
    SELECT ${FOUND_COLUMNS}
    FROM history_readers r
      CROSS JOIN messages m ON m.conversation_id = r.conversation_id
        AND m.seq BETWEEN r.first_seq AND COALESCE(r.last_seq, ${NO_CURSOR})
      CROSS JOIN message_search_docs d ON d.conversation_id = m.conversation_id AND d.seq = m.seq
    WHERE r.user_id = ${request.userId}
      ${conversationId !== undefined ? sql`AND r.conversation_id = ${conversationId}` : sql``}
      AND d.doc_id < ${below} AND d.doc_id >= ${atLeast}
      AND ${conditions(request, words)}
    ORDER BY d.doc_id DESC LIMIT ${request.limit + 1}`);
  return pageOf(found, request.limit);
}

/** The first `limit` rows, and a cursor after the last when there was one more. */
function pageOf(found: FoundMessage[], limit: number): SearchPage {
  const messages = found.slice(0, limit);
  const last = messages[messages.length - 1];
  return { messages, nextCursor: found.length > limit && last ? last.doc_id : null };
}
