// DISCONNECT_REQ: answered, then the socket closes normally.
import { Cmd, encodeRawFrame } from "../../../protocol/codec";
import { CloseCode } from "../../../protocol/limits";
import type { FrameContext } from "../frame-context";
import { closeSocket, sendFrame } from "../socket-state";

export function disconnect(fc: FrameContext<never>): void {
  sendFrame(fc.ws, encodeRawFrame(Cmd.CMD_DISCONNECT_RSP, fc.frame.sequence, new Uint8Array()));
  closeSocket(fc.ws, CloseCode.normal, "client disconnected");
}
