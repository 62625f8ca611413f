// The web page's `@` completion without a browser: the word being completed at the caret, which
// members match it, the text after one is picked, and the mentions a text still holds when sent.
import { describe, expect, it } from "vitest";
import {
  insertMention,
  matchCandidates,
  mentionQuery,
  mentionsIn,
  MAX_CANDIDATES,
} from "../../src/web/mentions.ts";

const bob = { userId: "u-bob", name: "Bob" };
const bobby = { userId: "u-bobby", name: "Bobby Tables" };
const carol = { userId: "u-carol", name: "Carol" };
const all = { userId: "", name: "all" };

describe("@ completion", () => {
  it("finds the @word at the caret, only at a word's start", () => {
    expect(mentionQuery("hi @bo", 6)).toEqual({ start: 3, query: "bo" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("hi @bo there", 6)).toEqual({ start: 3, query: "bo" });
    expect(mentionQuery("mail me@example", 15)).toBeNull(); // not after a space
    expect(mentionQuery("hi @bo there", 12)).toBeNull(); // the caret is past it
  });

  it("offers names that start with the query, then those that contain it, @all first", () => {
    expect(matchCandidates([carol, bobby, bob, all], "bo")).toEqual([bobby, bob]);
    expect(matchCandidates([carol, bob, all], "")).toEqual([all, carol, bob]);
    expect(matchCandidates([carol, bobby], "ab")).toEqual([bobby]);
    const many = Array.from({ length: 20 }, (_, i) => ({ userId: `u${i}`, name: `Ann ${i}` }));
    expect(matchCandidates(many, "ann")).toHaveLength(MAX_CANDIDATES);
  });

  it("replaces the @word with the name and puts the caret after it", () => {
    expect(insertMention("hi @bo and", 3, 6, "Bob")).toEqual({ text: "hi @Bob  and", caret: 8 });
  });

  it("sends only the mentions whose name is still in the text", () => {
    expect(mentionsIn("@Bob and @all look", [bob, carol, all])).toEqual({ userIds: ["u-bob"], all: true });
    expect(mentionsIn("never mind", [bob])).toEqual({ userIds: [], all: false });
  });

  it("finds a picked name only as a whole mention, not inside a longer one", () => {
    const al = { userId: "u-al", name: "Al" };
    const alice = { userId: "u-alice", name: "Alice" };
    expect(mentionsIn("@Alice look", [al, alice])).toEqual({ userIds: ["u-alice"], all: false });
    expect(mentionsIn("@Al, @Alice!", [al, alice])).toEqual({ userIds: ["u-al", "u-alice"], all: false });
    expect(mentionsIn("ask @Al", [al])).toEqual({ userIds: ["u-al"], all: false });
    expect(mentionsIn("@Allison", [al])).toEqual({ userIds: [], all: false });
    // A name with a regular expression's characters is matched as written.
    const dotted = { userId: "u-dot", name: "j.r" };
    expect(mentionsIn("@jxr hi", [dotted])).toEqual({ userIds: [], all: false });
    expect(mentionsIn("@j.r hi", [dotted])).toEqual({ userIds: ["u-dot"], all: false });
  });
});
