// When a chatroom join token expires, read from its own `exp` claim (not verified: the server
// checks the token; the client only needs to know when retrying a join with it is pointless).

/** The token's expiry in ms, or null when it carries none the client can read. */
export function joinTokenExpiresAt(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(
      payload
        .replace(/-/g, "+")
        .replace(/_/g, "/")
        .padEnd(Math.ceil(payload.length / 4) * 4, "="),
    );
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}
