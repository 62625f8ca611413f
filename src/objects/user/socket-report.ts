// What the user's object tells its SocketGauge shard (src/objects/stats/socket-gauge.ts): how many
// authenticated sockets the user holds, as an absolute count with its time, so a lost or late
// report is corrected by the next. Reported when a socket authenticates or closes, and again on a
// socket's heartbeat once GAUGE_REFRESH_MS has passed since that socket last did (the time is kept
// in the socket's attachment, which survives hibernation). Never waited for, never in a reply's way.
import { logEvent } from "../../observability/log";
import { gaugeFor, GAUGE_REFRESH_MS } from "../stats/socket-gauge";
import { saveSocketState, socketState, type SocketState } from "./socket-state";

export class SocketReport {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  /** Reports the user's authenticated open sockets now, leaving out `closing`. */
  report(userId: string, closing?: WebSocket): void {
    const sockets = this.ctx
      .getWebSockets()
      .filter((ws) => ws !== closing && ws.readyState === WebSocket.OPEN && socketState(ws).authed).length;
    this.ctx.waitUntil(
      gaugeFor(this.env, userId)
        .report(userId, sockets, Date.now())
        .catch((error: unknown) => logEvent("warn", "socket_gauge_report_failed", { userId }, error)),
    );
  }

  /** A heartbeat on `ws`: reports again when this socket has not for GAUGE_REFRESH_MS. */
  heartbeat(ws: WebSocket, state: SocketState): void {
    const now = Date.now();
    if (!state.authed || now - (state.gaugeAt ?? 0) < GAUGE_REFRESH_MS) return;
    saveSocketState(ws, { ...state, gaugeAt: now });
    this.report(state.userId);
  }
}
