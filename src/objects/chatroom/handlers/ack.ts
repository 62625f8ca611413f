// CHATROOM_ACK: where the listener's acks stand, so the relay can tell a slow listener (one more
// than CHATROOM_MAX_UNACKED behind) from one that keeps up. No answer.
import { pb } from "../../../protocol/codec";
import { liveListener, saveListener } from "../listener-state";
import { decodeBody, type RelayFrame } from "../relay-frame";

export function chatroomAck(fc: RelayFrame): void {
  const { seq } = decodeBody(fc, pb.ChatroomAck);
  // Only forward, and never past what was pushed: an ack cannot buy room for messages not yet sent.
  const acked = Math.min(seq, liveListener(fc.ws).sentSeq);
  if (acked <= fc.listener.ackedSeq) return;
  fc.listener = { ...fc.listener, ackedSeq: acked };
  saveListener(fc.ws, fc.listener);
}
