// What the rich-message requests (commands 1110-1121, docs/RICH-MESSAGES.md) share: only a socket
// that declared rich_messages in AUTH may make them (any other, the iOS SDK's, gets an ErrorNotice
// and never a frame numbered 1100 or more); a refusal is the request's own answer with its code;
// the conversation is one the user belongs to (membership.ts) before its object is called.
import { Err, type Cmd, type Encoder } from "../../protocol/codec";
import { isValidId, type ParsedConversation } from "../../protocol/conversation-id";
import {
  frameLogFields,
  notice,
  reply,
  RequestError,
  type FrameContext,
  type FrameScope,
  type UserServices,
} from "./frame-context";
import { memberRefusal } from "./membership";
import { declaresRich } from "./rich-updates";
import { logEvent } from "../../observability/log";
import { countMetric, Metric } from "../../observability/metrics";

export const DECLARE_RICH = "declare the rich_messages feature in AUTH";

/** A rich answer: error_code and error_msg (fields 1 and 2 of every one) and its own fields. */
type Answer<T> = T & { errorCode?: Err | null; errorMsg?: string | null };

/**
 * Runs a rich request: refused with an ErrorNotice on a socket that did not declare the feature,
 * answered with `response` carrying what `handle` returns, or its refusal's code.
 */
export async function richRequest<T extends object>(
  fc: FrameScope,
  response: Cmd,
  type: Encoder<Answer<T>>,
  handle: () => Promise<T>,
): Promise<void> {
  if (!declaresRich(fc.state)) {
    logEvent("info", "request_refused", {
      ...frameLogFields(fc),
      code: Err.ERR_INVALID_PARAM,
      reason: DECLARE_RICH,
    });
    countMetric(Metric.refusals, 1, String(Err.ERR_INVALID_PARAM));
    return notice(fc, Err.ERR_INVALID_PARAM, DECLARE_RICH);
  }
  let body: T;
  try {
    body = await handle();
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    logEvent("info", "request_refused", { ...frameLogFields(fc), code: error.code, reason: error.message });
    countMetric(Metric.refusals, 1, String(error.code));
    const refused = { errorCode: error.code, errorMsg: error.message } as Answer<T>;
    return reply(fc, response, type, refused);
  }
  reply(fc, response, type, { ...body, errorCode: Err.ERR_SUCCESS });
}

/**
 * A user's changes (react, edit, pin) a second, and how many may come at once: each is pushed to
 * every member of the conversation, so one user must not drive unbounded change traffic (the socket
 * request budget is per socket, and a user has up to 16).
 */
export const CHANGES_PER_SECOND = 10;
export const CHANGE_BURST = 20;

/**
 * A rich request that changes a message or the pinned list: as richRequest, after a token from the
 * user's change limiter (refused ERR_SEND_TOO_FAST, as a send past its limiter is).
 */
export async function changeRequest<T extends object>(
  fc: FrameScope & Pick<UserServices, "changeLimiter">,
  response: Cmd,
  type: Encoder<Answer<T>>,
  handle: () => Promise<T>,
): Promise<void> {
  await richRequest(fc, response, type, async () => {
    if (!fc.changeLimiter.take())
      throw new RequestError(
        Err.ERR_SEND_TOO_FAST,
        `too many changes: at most ${CHANGES_PER_SECOND} a second (reactions, edits and pins together)`,
      );
    return handle();
  });
}

/** A request's server_msg_id, checked. */
export function requestedMessageId(id: string | null | undefined): string {
  if (!isValidId(id ?? "")) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed server_msg_id");
  return id as string;
}

/** Refuses the request unless the user belongs to the conversation (checked in the user's object). */
export async function requireMember(
  fc: FrameContext<"env" | "inbox">,
  conversation: ParsedConversation,
): Promise<void> {
  const refused = await memberRefusal(fc, fc.state.userId, conversation);
  if (refused) throw new RequestError(refused.code, refused.message);
}

/** A page size from a request: `fallback` when unset, at most `max`. */
export function requestedLimit(requested: number | null | undefined, fallback: number, max: number): number {
  const n = requested ?? 0;
  return n > 0 ? Math.min(n, max) : fallback;
}
