// Which HistoryWriter a conversation hands its history rows to: its id hashed over the writers a
// deployment runs (HISTORY_WRITERS). Writers keep nothing, so the count can change at any time.
import type { HistoryWriter } from "./history-writer";

/** FNV-1a over the id's UTF-16 code units: stable, cheap, and spread well enough for a modulo. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function writerName(conversationId: string, writers: number): string {
  return `writer-${hash(conversationId) % writers}`;
}

export function historyWriterFor(
  env: Env,
  conversationId: string,
  writers: number,
): DurableObjectStub<HistoryWriter> {
  return env.HISTORY_WRITER.getByName(writerName(conversationId, writers));
}
