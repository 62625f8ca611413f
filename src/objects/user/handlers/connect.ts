// CONNECT_REQ: the SDK's hello; its platform names the device until AUTH says otherwise.
import { Cmd, Err, pb } from "../../../protocol/codec";
import { decodeBody, reply, type FrameContext } from "../frame-context";
import { saveSocketState } from "../socket-state";

export function connect(fc: FrameContext<never>): void {
  const req = decodeBody(fc, pb.ConnectRequest);
  if (req.platform && !fc.state.platform) {
    saveSocketState(fc.ws, { ...fc.state, platform: req.platform.slice(0, 32) });
  }
  reply(fc, Cmd.CMD_CONNECT_RSP, pb.ConnectResponse, {
    errorCode: Err.ERR_SUCCESS,
    serverTime: Date.now(),
    sessionId: fc.state.sessionId,
  });
}
