// Structured logs: one JSON line per event that matters, which Workers Logs (and `wrangler tail`)
// index by field. The fields are a closed set of names, so a token, a password or a message's
// content cannot be logged by accident: none of them has a field, and an error is logged by its
// name, message (cut short) and cause, never by the values it was thrown with.

/** What a line may carry. Identifiers and numbers only: never a token, a secret or content. */
export interface LogFields {
  /** The HTTP request (cf-ray, or one made up locally), or `<socket session>:<frame sequence>`. */
  requestId?: string;
  userId?: string;
  conversationId?: string;
  /** A socket's session (one per connection). */
  sessionId?: string;
  platform?: string;
  /** The protocol command a frame carried. */
  command?: number;
  /** An error code sent to a client (the protocol's `Err`, or an HTTP status). */
  code?: number;
  /** Why: a close reason, a refusal's kind, what failed. Written by the server, never by a client. */
  reason?: string;
  seq?: number;
  count?: number;
  attempt?: number;
  delayMs?: number;
  /** An admin action and its target (an id). */
  action?: string;
  target?: string;
  method?: string;
  path?: string;
  /** A push provider ("apns", "fcm", "webhook"); never a token. */
  provider?: string;
  /** The client's address (CF-Connecting-IP), for refusals an operator may want to block. */
  clientIp?: string;
}

export type LogLevel = "info" | "warn" | "error";

const MAX_ERROR_TEXT = 500;

function describe(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error).slice(0, MAX_ERROR_TEXT) };
  const described: Record<string, unknown> = {
    name: error.name,
    message: error.message.slice(0, MAX_ERROR_TEXT),
  };
  if (error.stack) described.stack = error.stack.split("\n").slice(0, 8).join("\n");
  if (error.cause !== undefined && depth < 2) described.cause = describe(error.cause, depth + 1);
  return described;
}

/** Writes one line: `{"level":…,"event":…, …fields, "error": {…}}`. */
export function logEvent(level: LogLevel, event: string, fields: LogFields = {}, error?: unknown): void {
  const line = JSON.stringify({
    level,
    event,
    ...fields,
    ...(error === undefined ? {} : { error: describe(error) }),
  });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
