// Message search (GET /api/messages/search, docs/API.md "Message search"): the options a client
// passes, and the page it gets back, read field by field as the other shapes are.
import { isObject, list, number, ShapeError, string, type JsonObject } from "./json-shapes.ts";
import type { MessageSearchHitJson } from "../protocol/http-shapes.ts";

/** One message found: where it is (conversation, seq) and an excerpt with the matched words. */
export type SearchHit = MessageSearchHitJson;

export interface SearchPage {
  hits: SearchHit[];
  /** Pass back as `cursor` for the next page; null when nothing is left. A page may be short. */
  nextCursor: string | null;
}

export interface SearchOptions {
  /** Only this conversation. */
  conversationId?: string;
  /** Only this sender's messages. */
  senderId?: string;
  /** serverTime ≥ from (Unix ms, or a Date). */
  from?: number | Date;
  /** serverTime < to (Unix ms, or a Date). */
  to?: number | Date;
  /** The previous page's `nextCursor`. */
  cursor?: string;
  /** 1–50, default 20. */
  limit?: number;
}

/** The query string of a search. */
export function searchQuery(q: string, options: SearchOptions = {}): string {
  const query = new URLSearchParams({ q });
  const ms = (t: number | Date) => String(typeof t === "number" ? t : t.getTime());
  if (options.conversationId !== undefined) query.set("conversationID", options.conversationId);
  if (options.senderId !== undefined) query.set("senderID", options.senderId);
  if (options.from !== undefined) query.set("from", ms(options.from));
  if (options.to !== undefined) query.set("to", ms(options.to));
  if (options.cursor !== undefined) query.set("cursor", options.cursor);
  if (options.limit !== undefined) query.set("limit", String(options.limit));
  return query.toString();
}

function readRange(value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((n) => Number.isInteger(n)))
    throw new ShapeError("a highlight is not [start, end]");
  return [value[0] as number, value[1] as number];
}

function readHit(value: unknown): SearchHit {
  if (!isObject(value)) throw new ShapeError("a search hit is not an object");
  const o: JsonObject = value;
  return {
    conversationID: string(o, "conversationID", true),
    conversationType: number(o, "conversationType"),
    seq: number(o, "seq", true),
    serverMsgID: string(o, "serverMsgID", true),
    senderID: string(o, "senderID"),
    messageType: number(o, "messageType"),
    sendTime: number(o, "sendTime"),
    serverTime: number(o, "serverTime"),
    snippet: string(o, "snippet"),
    highlights: list(o.highlights ?? [], "highlights", readRange),
  };
}

export function readSearchPage(data: unknown): SearchPage {
  if (!isObject(data)) throw new ShapeError("search page is not an object");
  const next = data.nextCursor ?? null;
  if (next !== null && typeof next !== "string") throw new ShapeError("nextCursor is not a string");
  return { hits: list(data.messages, "messages", readHit), nextCursor: next };
}
