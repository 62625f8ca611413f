// The SDK's response envelope {code, message, data} (http-api.md §1.3) and the one error type
// every route throws. `code` repeats the HTTP status for errors, as the Go server did.
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

/** A refusal with a status, a stable code and a message meant for the client to read. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toResponse(): Response {
    const body: Envelope<null> = { code: this.status, message: this.message, data: null };
    return Response.json(body, { status: this.status, headers: this.headers });
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
export const unauthorized = (message = "Invalid or missing token") => new ApiError(401, message);
export const notFound = (message: string) => new ApiError(404, message);
