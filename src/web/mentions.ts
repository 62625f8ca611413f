// `@` mentions in the composer: the word being completed before the caret, the candidates that
// match it, and the mentions a text still holds when it is sent (a name deleted is no mention).

/** Someone who can be mentioned: a member of the conversation, or everyone (`all`). */
export interface MentionCandidate {
  /** A user id, or "" for @all. */
  userId: string;
  name: string;
}

/** The label that stands for @all in the text. */
export const MENTION_ALL = "all";

/** Candidates shown at once. */
export const MAX_CANDIDATES = 8;

/** The `@query` ending at the caret (`start`: where its `@` is), or null when the caret is not in one. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s)@([^\s@]{0,32})$/u.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2]!.length - 1, query: match[2]! };
}

/** Members whose name starts with (then contains) the query, @all first when it matches. */
export function matchCandidates(candidates: readonly MentionCandidate[], query: string): MentionCandidate[] {
  const q = query.toLocaleLowerCase();
  const starts = candidates.filter((c) => c.name.toLocaleLowerCase().startsWith(q));
  const contains = candidates.filter(
    (c) => !c.name.toLocaleLowerCase().startsWith(q) && c.name.toLocaleLowerCase().includes(q),
  );
  return [...starts, ...contains]
    .sort((a, b) => Number(b.userId === "") - Number(a.userId === ""))
    .slice(0, MAX_CANDIDATES);
}

/** The text with the `@query` at `start` replaced by `@name ` and where the caret goes after it. */
export function insertMention(
  text: string,
  start: number,
  caret: number,
  name: string,
): { text: string; caret: number } {
  const inserted = `@${name} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}

/** Escapes a name for a regular expression. */
function literal(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&");
}

/**
 * `@name` as a whole mention in the text: followed by the end, a space or punctuation, so that a
 * picked "Al" is not found inside "@Alice" (nor "Bob" inside "@Bobby").
 */
export function hasMention(text: string, name: string): boolean {
  return new RegExp(`@${literal(name)}(?=$|[\\s\\p{P}\\p{S}])`, "u").test(text);
}

/** The picked mentions whose `@name` is still in the text when it is sent. */
export function mentionsIn(
  text: string,
  picked: readonly MentionCandidate[],
): { userIds: string[]; all: boolean } {
  const present = picked.filter((c) => hasMention(text, c.name));
  return {
    userIds: [...new Set(present.filter((c) => c.userId !== "").map((c) => c.userId))],
    all: present.some((c) => c.userId === ""),
  };
}
