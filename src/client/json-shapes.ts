// Reads the HTTP API's JSON without casts: the {code, message, data} envelope, User and Session.
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

function string(o: JsonObject, key: string, required = false): string {
  const value = o[key];
  if (typeof value === "string") return value;
  if (required || (value !== undefined && value !== null)) throw new ShapeError(`${key} is not a string`);
  return "";
}

function number(o: JsonObject, key: string, required = false): number {
  const value = o[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (required || (value !== undefined && value !== null)) throw new ShapeError(`${key} is not a number`);
  return 0;
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
  if (!Array.isArray(data)) throw new ShapeError("users is not an array");
  return data.map(readUser);
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
