// The webhook dead letters in D1 (src/db/webhook-dead-letters.ts): a dead-letter queue batch of any
// size the consumer takes is written whole (D1 takes at most 100 bound parameters a statement), a
// repeat of an event is one row, and only the newest MAX_DEAD_LETTERS are kept.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { deadLetterPage, recordDeadLetters } from "../../src/db/webhook-dead-letters";

const row = (n: number) => ({
  eventId: `after_send:test-${n}`,
  event: "after_send",
  body: JSON.stringify({ event: "after_send", eventID: `after_send:test-${n}`, time: n, data: {} }),
});

describe("webhook dead letters", () => {
  it("keeps a whole batch larger than one statement takes, once per event", async () => {
    const db = database(env);
    const batch = Array.from({ length: 120 }, (_, n) => row(n));
    await recordDeadLetters(db, batch);
    await recordDeadLetters(db, batch.slice(0, 10)); // repeats from the Queue
    const page = await deadLetterPage(db, null, 100);
    const next = await deadLetterPage(db, page.at(-1)!.id, 100);
    const ids = [...page, ...next].map((r) => r.eventId).filter((id) => id.startsWith("after_send:test-"));
    expect(new Set(ids).size).toBe(120);
    expect(ids).toHaveLength(120);
  });
});
