// The excerpt of a found message shown in a result list, and where the matched words are in it.
// Cut here from the message text rather than by FTS5's snippet(): the index is contentless, and
// words of 1–2 characters are found without it, so one cutter serves both and marks them alike.
// Offsets are UTF-16 code units, as JavaScript strings and Foundation's NSRange count them, and
// the result is plain text: a client wraps the ranges itself (no markup to escape or to inject).

/** Longest excerpt, in UTF-16 units. */
export const SNIPPET_MAX = 120;
/** How much text is kept before the first match, so it is read in its context. */
const LEAD = 30;
export const ELLIPSIS = "…";

export interface Snippet {
  text: string;
  /** [start, end) of each matched word in `text`, in order, never overlapping. */
  highlights: [number, number][];
}

const escapeRegExp = (word: string) => word.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** Matches any of the words, longest first, ignoring case as the trigram index does. */
function wordPattern(words: readonly string[]): RegExp | null {
  const sorted = [...words].filter((w) => w.length > 0).sort((a, b) => b.length - a.length);
  return sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join("|"), "giu") : null;
}

const isLowSurrogate = (text: string, i: number) => {
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff;
};

function ranges(text: string, pattern: RegExp | null): [number, number][] {
  if (!pattern) return [];
  return [...text.matchAll(pattern)].map((m) => [m.index, m.index + m[0].length] as [number, number]);
}

/** The excerpt of `text` around its first match of `words` (its start when none matches). */
export function snippet(text: string, words: readonly string[]): Snippet {
  const pattern = wordPattern(words);
  const first = ranges(text, pattern)[0];
  let start = first ? Math.max(0, first[0] - LEAD) : 0;
  // Never cut a character in two.
  if (start > 0 && isLowSurrogate(text, start)) start--;
  let end = Math.min(text.length, start + SNIPPET_MAX);
  if (end < text.length && isLowSurrogate(text, end)) end--;
  const prefix = start > 0 ? ELLIPSIS : "";
  const suffix = end < text.length ? ELLIPSIS : "";
  const excerpt = text.slice(start, end);
  return {
    text: prefix + excerpt + suffix,
    highlights: ranges(excerpt, pattern).map(([s, e]) => [s + prefix.length, e + prefix.length]),
  };
}
