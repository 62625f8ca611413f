// Join tokens of "token" chatrooms: HS256 JWTs naming the room, made by its creator
// (POST /api/chatrooms/:id/tokens) and checked at the socket upgrade. Signed with the server's key
// like access tokens, but with a type of their own and no subject or session, so neither can pass
// for the other.
import { SignJWT, jwtVerify } from "jose";

const ALGORITHM = "HS256";
const TYPE = "chatroom-join";

/** Longest a join token may live, and its default. */
export const MAX_JOIN_TOKEN_TTL_SECONDS = 7 * 86_400;
export const DEFAULT_JOIN_TOKEN_TTL_SECONDS = 86_400;

export async function signJoinToken(
  secret: string,
  roomId: string,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: number }> {
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const token = await new SignJWT({ room: roomId })
    .setProtectedHeader({ alg: ALGORITHM, typ: TYPE })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
  return { token, expiresAt: exp * 1000 };
}

/** Whether `token` is a live join token for `roomId`; never throws. */
export async function isJoinTokenFor(secret: string, token: string, roomId: string): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: [ALGORITHM],
      typ: TYPE,
    });
    return payload.room === roomId && typeof payload.exp === "number" && payload.sub === undefined;
  } catch {
    return false;
  }
}
