// The SDK's error types: one base class with a kind and a code, and a subclass per failure source.
import { Err } from "../protocol/codec.ts";

/** What failed: an HTTP call, a protocol answer, a deadline, the connection, or the caller's input. */
export type IMErrorKind = "http" | "protocol" | "timeout" | "connection" | "invalid";

/**
 * Every error the SDK throws or emits. `code` is the HTTP envelope's code for `http`, the
 * protocol's ErrorCode for `protocol`, and 0 otherwise.
 *
 * @example
 * try { await client.sendText(peer, "hi") } catch (e) {
 *   if (e instanceof IMProtocolError && e.code === ErrorCode.ERR_USER_NOT_EXIST) …
 * }
 */
export class IMError extends Error {
  readonly kind: IMErrorKind;
  readonly code: number;

  constructor(kind: IMErrorKind, code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IMError";
    this.kind = kind;
    this.code = code;
  }
}

/** An HTTP call answered with a non-zero envelope code (or no envelope at all). */
export class IMHttpError extends IMError {
  /** The HTTP status; 0 when the request never got an answer. */
  readonly status: number;

  constructor(status: number, code: number, message: string, options?: ErrorOptions) {
    super("http", code, message, options);
    this.name = "IMHttpError";
    this.status = status;
  }
}

/** The server answered a WebSocket request with an error_code other than ERR_SUCCESS. */
export class IMProtocolError extends IMError {
  /** The request's command (CommandType) the error answers. */
  readonly command: number;

  constructor(code: number, message: string, command: number) {
    super("protocol", code, message || `error code ${code}`);
    this.name = "IMProtocolError";
    this.command = command;
  }
}

/** No answer in time (a request, an auth, or a send whose resend budget is spent). */
export class IMTimeoutError extends IMError {
  constructor(message: string) {
    super("timeout", 0, message);
    this.name = "IMTimeoutError";
  }
}

/** The socket is not open, closed while waiting, or the client was stopped. */
export class IMConnectionError extends IMError {
  constructor(message: string) {
    super("connection", 0, message);
    this.name = "IMConnectionError";
  }
}

/** Throws an IMProtocolError for a response whose error_code is not ERR_SUCCESS. */
export function expectSuccess<T extends { errorCode?: number | null; errorMsg?: string | null }>(
  response: T,
  command: number,
): T {
  const code = response.errorCode ?? Err.ERR_SUCCESS;
  if (code !== Err.ERR_SUCCESS) throw new IMProtocolError(code, response.errorMsg ?? "", command);
  return response;
}
