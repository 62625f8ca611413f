// HEARTBEAT_REQ: answered with the server's time (the SDK beats every 30 s).
import { Cmd, pb } from "../../../protocol/codec";
import { decodeBody, reply, type FrameContext } from "../frame-context";

export function heartbeat(fc: FrameContext<never>): void {
  decodeBody(fc, pb.HeartbeatRequest);
  reply(fc, Cmd.CMD_HEARTBEAT_RSP, pb.HeartbeatResponse, { serverTime: Date.now() });
}
