// AUTH_REQ and REAUTH_REQ: the token is checked, the socket becomes its session's, and the device
// policy kicks the connections this one displaces.
import { DevicePolicy } from "../../../config/settings";
import { verifyAccessToken } from "../../../auth/jwt";
import { sessionVerdict } from "../../../auth/sessions";
import { database } from "../../../db/client";
import { Cmd, Err, pb } from "../../../protocol/codec";
import { CloseCode } from "../../../protocol/limits";
import { decodeBody, frameLogFields, reply, type FrameContext } from "../frame-context";
import { kickOutFrame, KickReason } from "../kick-out";
import { servedFeatures } from "../rich-updates";
import { closeSocket, saveSocketState, sendFrame, socketState } from "../socket-state";
import { logEvent } from "../../../observability/log";
import { countMetric, Metric } from "../../../observability/metrics";

/**
 * AUTH (and REAUTH on a live socket): the token must be valid and name the user whose token opened
 * the socket (PROTOCOL.md, decision 5). A refusal answers with the code, then closes the socket.
 */
export function auth(fc: AuthContext): Promise<void> {
  return authenticate(fc, Cmd.CMD_AUTH_RSP);
}

export function reauth(fc: AuthContext): Promise<void> {
  return authenticate(fc, Cmd.CMD_REAUTH_RSP);
}

type AuthContext = FrameContext<
  "env" | "ctx" | "settings" | "inbox" | "presence" | "currentStatus" | "authenticated"
>;

async function authenticate(fc: AuthContext, response: Cmd): Promise<void> {
  const req = decodeBody(fc, pb.AuthRequest);
  const fail = (code: Err, message: string) => {
    logEvent("warn", "auth_refused", { ...frameLogFields(fc), code, reason: message });
    countMetric(Metric.refusals, 1, String(code));
    reply(fc, response, pb.AuthResponse, { errorCode: code, errorMsg: message });
    closeSocket(fc.ws, CloseCode.policyViolation, message);
  };
  if (!req.token) return fail(Err.ERR_AUTH_FAILED, "token is required");
  const verified = await verifyAccessToken(fc.settings.jwtSecret, req.token);
  if (!verified.ok) {
    return verified.reason === "expired"
      ? fail(Err.ERR_TOKEN_EXPIRED, "token expired")
      : fail(Err.ERR_AUTH_FAILED, "invalid token");
  }
  const tokenUser = verified.claims.userId;
  if (tokenUser !== fc.state.userId || (req.userId && req.userId !== tokenUser)) {
    return fail(Err.ERR_AUTH_FAILED, "token does not belong to this connection's user");
  }
  // Checked again here, once the socket exists: a logout between the upgrade's check and now, or a
  // REAUTH with a token of an ended session, is refused; the socket then belongs to the token's
  // session, so ending that session closes it.
  const { sessionId } = verified.claims;
  const verdict = await sessionVerdict(database(fc.env), tokenUser, sessionId);
  if (verdict === "banned") return fail(Err.ERR_AUTH_FAILED, "this account is banned");
  if (verdict === "ended") return fail(Err.ERR_AUTH_FAILED, "this session has ended: log in again");
  if (sessionId !== fc.state.loginSessionId) {
    saveSocketState(fc.ws, { ...fc.state, loginSessionId: sessionId });
    fc.state = socketState(fc.ws);
  }
  const platform = (req.platform || fc.state.platform).slice(0, 32);
  const firstAuth = !fc.state.authed;
  // The declaration belongs to the socket and a REAUTH replaces it (docs/RICH-MESSAGES.md); kept
  // absent rather than empty when none, so a plain socket's attachment is what it was before.
  const served = servedFeatures(req.features);
  const features = served.length > 0 ? served : undefined;
  const featuresChanged = (features ?? []).join() !== (fc.state.features ?? []).join();
  if (firstAuth || platform !== fc.state.platform || featuresChanged) {
    // gaugeAt: the socket's first report is the one authentication makes (socket-report.ts).
    saveSocketState(fc.ws, {
      ...fc.state,
      authed: true,
      platform,
      gaugeAt: fc.state.gaugeAt ?? Date.now(),
      features,
    });
    fc.state = socketState(fc.ws);
  }
  reply(fc, response, pb.AuthResponse, {
    errorCode: Err.ERR_SUCCESS,
    maxSeq: fc.inbox.inboxSeq(),
    features: served,
  });
  if (!firstAuth) return;
  // The request is answered: nothing after this line may answer it again, and the device's next
  // frame (its BATCH_SYNC) must not wait for the user's friends to be told.
  try {
    kickOthers(fc, platform);
    fc.presence.deviceOnline(fc.currentStatus());
    await fc.authenticated(fc.state.userId);
  } catch (error) {
    logEvent("error", "after_auth_failed", { userId: fc.state.userId, sessionId: fc.state.sessionId }, error);
  }
}

/**
 * Enforces the device policy once a socket has authenticated: the newest connection wins, the
 * older ones it displaces get KICK_OUT (reason 1) and close with 4001 (PROTOCOL.md, decision 14).
 */
function kickOthers(fc: FrameContext<"ctx" | "settings">, platform: string): void {
  const policy = fc.settings.devicePolicy;
  if (policy === DevicePolicy.all) return;
  const kick = kickOutFrame(
    KickReason.anotherDevice,
    policy === DevicePolicy.single
      ? "logged in on another device"
      : `logged in on another ${platform} device`,
  );
  for (const ws of fc.ctx.getWebSockets()) {
    if (ws === fc.ws) continue;
    const other = socketState(ws);
    if (!other.authed) continue;
    if (policy === DevicePolicy.perPlatform && other.platform.toLowerCase() !== platform.toLowerCase())
      continue;
    saveSocketState(ws, { ...other, authed: false });
    sendFrame(ws, kick);
    closeSocket(ws, CloseCode.kicked, "kicked: logged in on another device");
  }
}
