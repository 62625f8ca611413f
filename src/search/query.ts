// A search query as the user typed it, turned into what the index can take. Every word is quoted
// as an FTS5 string, so nothing the user types (quotes, *, ^, :, parentheses, AND/OR/NOT/NEAR) acts
// as query syntax: `c++`, `don't` and `(a)` are searched as written. The index is trigram
// (schema/migrations/0005_message_search.sql), which matches a word of 3 or more characters
// anywhere in a text; shorter words (1–2 characters, common in Chinese) cannot use it and are
// matched with instr() instead, as every word is when the caller's history is scanned
// (src/db/message-search.ts).

/** Longest query accepted, in characters: a search box, not a document. */
export const MAX_QUERY_CHARS = 200;
/** Most words in one query: each is one more condition on every candidate row. */
export const MAX_QUERY_WORDS = 10;
/** The trigram tokenizer's unit: a word shorter than this matches nothing in the index. */
export const TRIGRAM = 3;

export interface ParsedQuery {
  /** Every word, in the order typed (duplicates dropped). */
  words: string[];
  /** The FTS5 MATCH expression of the words of 3 or more characters; null when there are none. */
  match: string | null;
  /** Words of 1–2 characters, lower-cased as SQLite's lower() does (ASCII only), for instr(). */
  short: string[];
  /** Every word so lower-cased, for a search without the index. */
  all: string[];
}

export type QueryProblem = { problem: string };

/** Characters in the sense users count them (code points), not UTF-16 units. */
export const charCount = (text: string) => [...text].length;

/** A word worth searching has a letter, a digit or a symbol such as an emoji, not only punctuation. */
const SEARCHABLE = /[\p{L}\p{N}\p{So}]/u;

/** An FTS5 string: inside double quotes everything is literal, and a quote is written twice. */
const ftsString = (word: string) => `"${word.replaceAll('"', '""')}"`;

/** SQLite's lower() folds ASCII letters only; the short words are compared after it. */
export const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Parses `q`; a problem (a message for the client) when there is nothing to search for. */
export function parseQuery(q: string): ParsedQuery | QueryProblem {
  const text = q.trim();
  if (text.length === 0) return { problem: "q: must not be empty" };
  if (charCount(text) > MAX_QUERY_CHARS) return { problem: `q: at most ${MAX_QUERY_CHARS} characters` };
  if (text.includes("\u0000")) return { problem: "q: must not contain NUL characters" };
  const words = [...new Set(text.split(/\s+/u).filter((w) => w.length > 0))];
  if (words.length > MAX_QUERY_WORDS) return { problem: `q: at most ${MAX_QUERY_WORDS} words` };
  if (!words.some((w) => SEARCHABLE.test(w)))
    return { problem: "q: has no word to search for (only punctuation or query syntax)" };
  const long = words.filter((w) => charCount(w) >= TRIGRAM);
  return {
    words,
    // Juxtaposed strings are ANDed: a message must hold every word.
    match: long.length > 0 ? long.map(ftsString).join(" ") : null,
    short: words.filter((w) => charCount(w) < TRIGRAM).map(asciiLower),
    all: words.map(asciiLower),
  };
}
