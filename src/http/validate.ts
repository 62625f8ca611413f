// Body and query validation with zod: a bad body is a 400 with a message naming the field, and the
// handler only ever sees the parsed, typed value (never `JSON.parse(x) as T`).
import type { Context } from "hono";
import { z } from "zod";
import { ApiError, badRequest } from "./envelope";

/** Largest JSON body any endpoint accepts. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

const tooLarge = () => new ApiError(413, `Request body too large: at most ${MAX_JSON_BODY_BYTES} bytes`);

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid request body";
  const path = issue.path.length > 0 ? issue.path.join(".") : "body";
  return `${path}: ${issue.message}`;
}

/**
 * Reads the JSON body and validates it. An empty body counts as `{}` (the SDK sends no body on
 * join/leave/dismiss while still declaring JSON, http-api.md §1.2).
 */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  // Refuse a declared oversize body before reading it; check what was read in any case.
  if (Number(c.req.header("Content-Length") ?? 0) > MAX_JSON_BODY_BYTES) throw tooLarge();
  const text = await c.req.text();
  if (new TextEncoder().encode(text).length > MAX_JSON_BODY_BYTES) throw tooLarge();
  let raw: unknown = {};
  if (text.trim().length > 0) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw badRequest("Invalid request body: not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw badRequest(describe(parsed.error));
  return parsed.data;
}

/** Validates a value (a path parameter, a query) against a schema. */
export function validated<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(describe(parsed.error));
  return parsed.data;
}
