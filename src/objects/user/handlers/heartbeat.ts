// HEARTBEAT_REQ: answered with the server's time (the SDK beats every 30 s); now and then it also
// refreshes the user's count of live sockets (socket-report.ts).
import { Cmd, pb } from "../../../protocol/codec";
import { decodeBody, reply, type FrameContext } from "../frame-context";

export function heartbeat(fc: FrameContext<"socketReport">): void {
  decodeBody(fc, pb.HeartbeatRequest);
  reply(fc, Cmd.CMD_HEARTBEAT_RSP, pb.HeartbeatResponse, { serverTime: Date.now() });
  fc.socketReport.heartbeat(fc.ws, fc.state);
}
