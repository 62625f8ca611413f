// HEARTBEAT_REQ on a room socket: the server's time, as on /ws (keep-alive).
import { Cmd, encodeFrame, pb } from "../../../protocol/codec";
import { sendFrame } from "../../user/socket-state";
import type { RelayFrame } from "../relay-frame";

export function chatroomHeartbeat(fc: RelayFrame): void {
  sendFrame(
    fc.ws,
    encodeFrame(Cmd.CMD_HEARTBEAT_RSP, fc.frame.sequence, pb.HeartbeatResponse, { serverTime: Date.now() }),
  );
}
