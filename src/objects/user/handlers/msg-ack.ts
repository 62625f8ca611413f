// MSG_ACK: the device has the message; the device's cursor and its conversation's delivered
// watermark move.
import { pb } from "../../../protocol/codec";
import { decodeBody, type FrameContext } from "../frame-context";

export function msgAck(fc: FrameContext<"deviceCursors" | "recentPushes" | "deliveredMarks">): void {
  const ack = decodeBody(fc, pb.MessageAck);
  fc.deviceCursors.acked(fc.ws, ack.serverMsgId ?? "");
  const pushed = fc.recentPushes.take(ack.serverMsgId ?? "");
  if (!pushed) return; // an ack for an old push: its delivery was already counted by sync
  fc.deliveredMarks.mark(pushed.conversationId, pushed.seq);
}
