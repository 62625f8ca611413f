// The SDK's response envelope {code, message, data} (http-api.md §1.3) and the one error type
// every route throws. `code` carries the refusal's status number (400, 403, 404, 409, 429, …), as
// the Go server's did; the HTTP status is 200 for business refusals, because the SDK drops the
// body of any non-2xx answer and its app would never see `message` (http-api.md §1.4).
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface Envelope<T> {
  code: number;
  message: string;
  data?: T | null;
}

export function ok<T>(c: Context, data: T, message = "success"): Response {
  return c.json<Envelope<T>>({ code: 0, message, data });
}

/**
 * A refusal with a status number, sent as the envelope's `code`, and a message meant for the
 * client to read. Business refusals travel as HTTP 200 (http-api.md §1.4, "Decision (binding)");
 * only a missing or bad token (401) and the server's own failures (5xx) keep their HTTP status.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The HTTP status this refusal is sent with. */
  get httpStatus(): ContentfulStatusCode {
    return this.status === 401 || this.status >= 500 ? this.status : 200;
  }

  toResponse(): Response {
    const body: Envelope<null> = { code: this.status, message: this.message, data: null };
    return Response.json(body, { status: this.httpStatus, headers: this.headers });
  }
}

/**
 * A refusal of the request's form rather than of its content (an unknown path, a missing
 * WebSocket upgrade): no SDK call can meet it, and HTTP tools expect the real status.
 */
export class TransportError extends ApiError {
  override get httpStatus(): ContentfulStatusCode {
    return this.status;
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
/** A missing, invalid, expired or revoked token: the one refusal that keeps HTTP 401. */
export const unauthorized = (message = "Invalid or missing token") => new ApiError(401, message);

/** Wrong credentials at login: code 401 as the Go server sent, but readable by the app (HTTP 200). */
export class CredentialsRefused extends ApiError {
  constructor(message: string) {
    super(401, message);
  }

  override get httpStatus(): ContentfulStatusCode {
    return 200;
  }
}
export const notFound = (message: string) => new ApiError(404, message);
