import { decodeTime, isValid } from "ulid";
import { describe, expect, it } from "vitest";
import { newMessageId } from "../../src/objects/message-ids";

describe("message ids", () => {
  it("are valid ULIDs of the given time, distinct across many pool refills", () => {
    const now = Date.now();
    const ids = Array.from({ length: 10_000 }, () => newMessageId(now));
    expect(ids.every(isValid)).toBe(true);
    expect(ids.every((id) => decodeTime(id) === now)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Every one of the 32 symbols shows up in the random part: the draws cover the alphabet.
    expect(new Set(ids.flatMap((id) => [...id.slice(10)])).size).toBe(32);
  });
});
