// The web page's record of this user's own reactions, without a browser: a message lists only the
// first 100 reactors, so what the page's own react calls answered decides, bounded in size.
import { describe, expect, it } from "vitest";
import { OwnReactions } from "../../src/web/own-reactions.ts";
import { sdkMessage } from "./helpers/sdk-messages.ts";

const first100 = Array.from({ length: 100 }, (_, i) => `u${i}`);

describe("own reactions on the web page", () => {
  it("knows the 101st reactor's reaction from their react answer, and its taking back", () => {
    const own = new OwnReactions();
    const m = sdkMessage(1, { reactions: [{ emoji: "👍", count: 101, userIds: first100 }] });
    expect(own.has(m, "👍", "me")).toBe(false); // not among the first 100 listed
    own.record(m.serverMsgId, "👍", false);
    expect(own.has(m, "👍", "me")).toBe(true);
    own.record(m.serverMsgId, "👍", true);
    expect(own.has(m, "👍", "me")).toBe(false);
    // An emoji not reacted with from this page still reads the list; one nobody has left is nobody's.
    const listed = sdkMessage(1, { reactions: [{ emoji: "❤️", count: 1, userIds: ["me"] }] });
    expect(own.has(listed, "❤️", "me")).toBe(true);
    own.record(m.serverMsgId, "🎉", false);
    expect(own.has(sdkMessage(1), "🎉", "me")).toBe(false);
  });

  it("forgets the oldest message past its bound", () => {
    const own = new OwnReactions(2);
    const reacted = (seq: number) =>
      sdkMessage(seq, { reactions: [{ emoji: "👍", count: 101, userIds: first100 }] });
    for (const seq of [1, 2, 3]) own.record(`id-${seq}`, "👍", false);
    expect([1, 2, 3].map((seq) => own.has(reacted(seq), "👍", "me"))).toEqual([false, true, true]);
  });
});
