// Which HistoryWriter a conversation hands its history rows to: its id hashed over the writers a
// deployment runs (HISTORY_WRITERS). Writers keep nothing, so the count can change at any time.
import { hash } from "../../lib/hash";

export function writerName(conversationId: string, writers: number): string {
  return `writer-${hash(conversationId) % writers}`;
}

/** The writer's id, which a conversation keeps to make a new stub for each call (object-ids.ts says why). */
export function historyWriterId(env: Env, conversationId: string, writers: number): DurableObjectId {
  return env.HISTORY_WRITER.idFromName(writerName(conversationId, writers));
}
