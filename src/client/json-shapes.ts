// Reads the HTTP API's JSON without casts: the {code, message, data} envelope, User and Session,
// and the field readers the other shapes (social-shapes.ts) are built from.
import { IMError } from "./errors.ts";
import type { Session, User } from "./types.ts";

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface Envelope {
  code: number;
  message: string;
  data: unknown;
}

/** The envelope, or null when the body is not one. */
export function readEnvelope(body: unknown): Envelope | null {
  if (!isObject(body) || typeof body.code !== "number" || typeof body.message !== "string") return null;
  return { code: body.code, message: body.message, data: body.data ?? null };
}

/** Thrown by the readers below when the server's data does not have the documented shape. */
export class ShapeError extends IMError {
  constructor(what: string) {
    super("invalid", 0, `unexpected response shape: ${what}`);
    this.name = "ShapeError";
  }
}

/** `o[key]` as a string: "" when absent or null, a ShapeError when another type (or absent but required). */
export function string(o: JsonObject, key: string, required = false): string {
  const value = o[key];
  if (typeof value === "string") return value;
  if (required || (value !== undefined && value !== null)) throw new ShapeError(`${key} is not a string`);
  return "";
}

/** `o[key]` as a finite number: 0 when absent or null, a ShapeError otherwise (as `string`). */
export function number(o: JsonObject, key: string, required = false): number {
  const value = o[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (required || (value !== undefined && value !== null)) throw new ShapeError(`${key} is not a number`);
  return 0;
}

/** `o[key]` as a boolean: false when absent or null, a ShapeError for another type. */
export function boolean(o: JsonObject, key: string): boolean {
  const value = o[key];
  if (typeof value === "boolean") return value;
  if (value !== undefined && value !== null) throw new ShapeError(`${key} is not a boolean`);
  return false;
}

/** Each element of an array read by `read`; a ShapeError naming `what` when it is not an array. */
export function list<T>(data: unknown, what: string, read: (item: unknown) => T): T[] {
  if (!Array.isArray(data)) throw new ShapeError(`${what} is not an array`);
  return data.map(read);
}

export function readUser(data: unknown): User {
  if (!isObject(data)) throw new ShapeError("user is not an object");
  return {
    userID: string(data, "userID", true),
    nickname: string(data, "nickname"),
    avatar: string(data, "avatar"),
    phone: string(data, "phone"),
    email: string(data, "email"),
    gender: number(data, "gender"),
    birth: number(data, "birth"),
    signature: string(data, "signature"),
    extra: string(data, "extra"),
    createTime: number(data, "createTime"),
    updateTime: number(data, "updateTime"),
  };
}

export function readUsers(data: unknown): User[] {
  return list(data, "users", readUser);
}

export function readSession(data: unknown): Session {
  if (!isObject(data)) throw new ShapeError("session is not an object");
  return {
    token: string(data, "token", true),
    userID: string(data, "userID", true),
    user: readUser(data.user),
    expiresAt: number(data, "expiresAt", true),
    refreshToken: string(data, "refreshToken", true),
    refreshExpiresAt: number(data, "refreshExpiresAt", true),
  };
}
