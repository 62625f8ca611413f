// The session kept in localStorage, so a reload stays logged in; checked field by field when read.
import type { Session } from "edge-im/client";

const KEY = "edge-im.session";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The saved session, or null when there is none, it is malformed, or its refresh token expired. */
export function loadSession(): Session | null {
  let data: unknown;
  try {
    data = JSON.parse(localStorage.getItem(KEY) ?? "null");
  } catch {
    return null;
  }
  if (!isRecord(data) || !isRecord(data.user)) return null;
  const { token, userID, expiresAt, refreshToken, refreshExpiresAt, user } = data;
  if (typeof token !== "string" || typeof userID !== "string" || typeof refreshToken !== "string")
    return null;
  if (typeof expiresAt !== "number" || typeof refreshExpiresAt !== "number") return null;
  if (refreshExpiresAt <= Date.now() || user.userID !== userID) return null;
  const text = (key: string) => (typeof user[key] === "string" ? String(user[key]) : "");
  const number = (key: string) => (typeof user[key] === "number" ? Number(user[key]) : 0);
  return {
    token,
    userID,
    expiresAt,
    refreshToken,
    refreshExpiresAt,
    user: {
      userID,
      nickname: text("nickname"),
      avatar: text("avatar"),
      phone: text("phone"),
      email: text("email"),
      gender: number("gender"),
      birth: number("birth"),
      signature: text("signature"),
      extra: text("extra"),
      createTime: number("createTime"),
      updateTime: number("updateTime"),
    },
  };
}

/** Saves the session (login, refresh) or forgets it (null: logout, refused refresh). */
export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}
