// The before-send webhook: a team's own service sees each message before it is stored and may let
// it through, refuse it (with a reason the sender's device is told) or rewrite its content. It is
// asked by the sender's UserObject, before the conversation is called, so a slow or hanging
// receiver holds only that device's sends, and never past WEBHOOK_TIMEOUT_MS: then the message goes
// through or is refused as WEBHOOK_ON_TIMEOUT says. An answer that cannot be read counts as no
// answer. The receiver sees ids and the content (it is a moderation hook), never a token.
import type { Settings } from "../config/settings";
import { Err } from "../protocol/codec";
import { logEvent } from "../observability/log";
import type { SendInput } from "../objects/rpc";
import { base64, fromBase64 } from "./base64";
import { EVENT_HEADER, signedJsonHeaders } from "./signature";

/** A refusal carries the code the device gets: final for the receiver's no, a retry for no answer. */
export type SendDecision =
  | { action: "allow" }
  | { action: "refuse"; code: Err; reason: string }
  | { action: "rewrite"; content: Uint8Array };

/** Longest refusal reason passed on to the sender. */
const MAX_REASON = 200;

/** One decision read from the receiver's answer, or null when it is not one. */
function readDecision(value: unknown): SendDecision | null {
  if (!value || typeof value !== "object") return null;
  const d = value as { action?: unknown; reason?: unknown; content?: unknown };
  if (d.action === "allow") return { action: "allow" };
  if (d.action === "refuse") {
    const reason = typeof d.reason === "string" ? Array.from(d.reason).slice(0, MAX_REASON).join("") : "";
    return {
      action: "refuse",
      code: Err.ERR_PERMISSION_DENIED,
      reason: reason ? `refused: ${reason}` : "refused by the server's content policy",
    };
  }
  if (d.action === "rewrite" && typeof d.content === "string") {
    try {
      const content = fromBase64(d.content);
      return content.byteLength > 0 ? { action: "rewrite", content } : null; // empty is no message
    } catch {
      return null;
    }
  }
  return null;
}

/** Room for an answer: each message rewritten at the largest size (base64), and some JSON around it. */
function answerLimit(settings: Settings, messages: number): number {
  return messages * (Math.ceil((settings.messageMaxBytes * 4) / 3) + 1_024) + 1_024;
}

/** The body as text, refused past `limit` bytes (a receiver that streams without end holds nothing). */
async function boundedText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** What the receiver decided for each message, in order; the timeout policy where it did not. */
export async function askBeforeSend(
  settings: Settings,
  senderId: string,
  conversationId: string,
  inputs: readonly SendInput[],
): Promise<SendDecision[]> {
  const hook = settings.webhook;
  // No answer is not the receiver's no: the device may resend (ERR_UNKNOWN is what the SDK retries).
  const fallback: SendDecision =
    hook?.onTimeout === "refuse"
      ? {
          action: "refuse",
          code: Err.ERR_UNKNOWN,
          reason: "the message could not be checked: resend it with the same client_msg_id",
        }
      : { action: "allow" };
  if (!hook || !hook.beforeSend) return inputs.map(() => ({ action: "allow" }));
  const body = JSON.stringify({
    event: "before_send",
    senderID: senderId,
    conversationID: conversationId,
    messages: inputs.map((m) => ({
      clientMsgID: m.clientMsgId,
      receiverID: m.receiverId,
      messageType: m.messageType,
      content: base64(m.content),
    })),
  });
  try {
    const response = await fetch(hook.url, {
      method: "POST",
      headers: await signedJsonHeaders(hook.secret, body, { [EVENT_HEADER]: "before_send" }),
      body,
      signal: AbortSignal.timeout(hook.timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const answer = JSON.parse(await boundedText(response, answerLimit(settings, inputs.length))) as {
      decisions?: unknown;
    };
    const decisions = Array.isArray(answer.decisions) ? answer.decisions.map(readDecision) : [];
    if (decisions.length !== inputs.length || decisions.some((d) => d === null))
      throw new Error("the answer does not hold one decision per message");
    return decisions as SendDecision[];
  } catch (error) {
    logEvent(
      "warn",
      "webhook_before_send_failed",
      { userId: senderId, conversationId, count: inputs.length, reason: hook.onTimeout },
      error,
    );
    return inputs.map(() => fallback);
  }
}
