// /api/messages (extension): full-text search over the messages the caller may read, newest first,
// paged by an opaque cursor, at most SEARCHES_PER_MINUTE a user (src/search/throttle.ts). The query's words are parsed in src/search/query.ts, the rows found in
// src/db/message-search.ts on each history shard that can hold them (src/db/sharded-search.ts), the
// excerpts cut in src/search/snippet.ts.
import { Hono } from "hono";
import { z } from "zod";
import { allShards, shardOf } from "../../db/history-shards";
import type { FoundMessage } from "../../db/message-search";
import { searchShards } from "../../db/sharded-search";
import { badRequest, ok } from "../../http/envelope";
import { userIdField } from "../../http/schemas";
import { validated } from "../../http/validate";
import { parseConversationId } from "../../protocol/conversation-id";
import type { MessageSearchHitJson, MessageSearchPageJson } from "../../protocol/http-shapes";
import { CURSOR_PATTERN, decodeCursor, encodeCursor } from "../../search/cursor";
import { parseQuery, type ParsedQuery } from "../../search/query";
import { snippet } from "../../search/snippet";
import { takeSearch } from "../../search/throttle";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/** Largest page of results. */
export const MAX_SEARCH_RESULTS = 50;

/** An empty parameter (a form's blank field) means the parameter is absent. */
const optional = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const time = z.coerce.number().int("must be Unix milliseconds").min(0).max(8.64e15);

const SearchParams = z
  .object({
    q: z.string({ error: "is required" }),
    conversationID: optional(
      z.string().refine((id) => parseConversationId(id) !== null, "must be a conversation id"),
    ),
    senderID: optional(userIdField),
    from: optional(time),
    to: optional(time),
    // A document id and its shard (search/cursor.ts), opaque to clients.
    cursor: optional(z.string().regex(CURSOR_PATTERN, "must be a nextCursor this API returned")),
    limit: optional(z.coerce.number().int().min(1).max(MAX_SEARCH_RESULTS)),
  })
  .refine((p) => p.from === undefined || p.to === undefined || p.from < p.to, {
    message: "must be later than from",
    path: ["to"],
  });

function toHit(found: FoundMessage, query: ParsedQuery): MessageSearchHitJson {
  const excerpt = snippet(found.text, query.words);
  return {
    conversationID: found.conversation_id,
    conversationType: found.conversation_type,
    seq: found.seq,
    serverMsgID: found.server_msg_id,
    senderID: found.sender_id,
    messageType: found.message_type,
    sendTime: found.send_time,
    serverTime: found.server_time,
    snippet: excerpt.text,
    highlights: excerpt.highlights,
  };
}

export const messageRoutes = new Hono<AppEnv>().use(requireAuth).get("/search", async (c) => {
  const params = validated(SearchParams, c.req.query());
  const query = parseQuery(params.q);
  if ("problem" in query) throw badRequest(query.problem);
  // Only a search that reaches D1 counts against the caller's budget.
  await takeSearch(c.env, c.var.userId, c.var.settings.searchesPerMinute);
  // One conversation's history is on its shard; the caller's may be on any of them.
  const shards =
    params.conversationID === undefined
      ? allShards(c.env, c.var.settings)
      : [await shardOf(c.env, params.conversationID)];
  const page = await searchShards(shards, {
    userId: c.var.userId,
    query,
    filters: {
      conversationId: params.conversationID,
      senderId: params.senderID,
      from: params.from,
      to: params.to,
    },
    cursor: params.cursor === undefined ? null : decodeCursor(params.cursor),
    limit: params.limit ?? 20,
  });
  const body: MessageSearchPageJson = {
    messages: page.messages.map((m) => toHit(m, query)),
    nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor),
  };
  return ok(c, body);
});
