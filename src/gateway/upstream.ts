// Opens the WebSocket to the worker's /ws with the client's token, and turns a refused upgrade into
// the AUTH_RSP code the SDK understands.
import WebSocket from "ws";
import type { IncomingMessage } from "node:http";
import { Err } from "./commands.ts";
import {
  MAX_ERROR_MSG_CHARS,
  MAX_REFUSAL_BODY_BYTES,
  MAX_UPSTREAM_FRAME_BYTES,
  UPSTREAM_OPEN_TIMEOUT_MS,
} from "./limits.ts";

export type UpstreamResult =
  { ok: true; ws: WebSocket } | { ok: false; errorCode: number; errorMsg: string; reason: string };

/** `/ws?token=<JWT>` as the SDK itself builds it; `platform` as the worker reads it (from CONNECT). */
export function upstreamUrl(base: string, token: string, platform: string | null): string {
  const url = new URL(base);
  url.searchParams.set("token", token);
  if (platform) url.searchParams.set("platform", platform);
  return url.toString();
}

/** The refusal's `message` from the worker's `{code, message}` envelope, if it has one. */
async function refusalMessage(res: IncomingMessage): Promise<string> {
  let text = "";
  try {
    for await (const chunk of res) {
      text += String(chunk);
      if (text.length >= MAX_REFUSAL_BODY_BYTES) break;
    }
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string")
      return parsed.message.slice(0, MAX_ERROR_MSG_CHARS);
  } catch {
    // not the envelope
  }
  return "";
}

/**
 * Settles once: with the open socket, or with the AUTH_RSP code for the refusal. A 401 is a bad
 * token (ERR_TOKEN_EXPIRED when the worker says it expired); anything else is the service failing.
 * The URL holds the token, so it is never logged or put in a reason.
 */
export function openUpstream(url: string): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: MAX_UPSTREAM_FRAME_BYTES,
      handshakeTimeout: UPSTREAM_OPEN_TIMEOUT_MS,
    });
    let settled = false;
    const settle = (result: UpstreamResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    ws.once("open", () => settle({ ok: true, ws }));
    ws.once("unexpected-response", (req, res) => {
      void refusalMessage(res).then((message) => {
        req.destroy();
        const status = res.statusCode ?? 0;
        if (status === 401) {
          const expired = /expired/i.test(message);
          settle({
            ok: false,
            errorCode: expired ? Err.ERR_TOKEN_EXPIRED : Err.ERR_AUTH_FAILED,
            errorMsg: message || "invalid token",
            reason: `upgrade refused: HTTP 401`,
          });
        } else {
          settle({
            ok: false,
            errorCode: Err.ERR_UNKNOWN,
            errorMsg: message || "service unavailable",
            reason: `upgrade refused: HTTP ${status}`,
          });
        }
      });
    });
    ws.on("error", (error: NodeJS.ErrnoException) => {
      settle({
        ok: false,
        errorCode: Err.ERR_UNKNOWN,
        errorMsg: "service unavailable",
        reason: `upstream error: ${error.code ?? "unknown"}`,
      });
    });
  });
}
