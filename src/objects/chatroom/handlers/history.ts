// CHATROOM_HISTORY_REQ: the kept messages after a seq, from the room (a listener filling a gap).
import { Cmd, Err, encodeFrame, pb } from "../../../protocol/codec";
import { sendFrame } from "../../user/socket-state";
import { MAX_HISTORY_PAGE } from "../room-messages";
import { ChatroomRequestError, decodeBody, type RelayFrame } from "../relay-frame";

export async function chatroomHistory(fc: RelayFrame): Promise<void> {
  const req = decodeBody(fc, pb.ChatroomHistoryRequest);
  const limit = req.limit === 0 ? MAX_HISTORY_PAGE : req.limit;
  if (limit > MAX_HISTORY_PAGE)
    throw new ChatroomRequestError(Err.ERR_INVALID_PARAM, `limit must be at most ${MAX_HISTORY_PAGE}`);
  const page = await fc.room().history(req.afterSeq, limit);
  sendFrame(
    fc.ws,
    encodeFrame(Cmd.CMD_CHATROOM_HISTORY_RSP, fc.frame.sequence, pb.ChatroomHistoryResponse, {
      errorCode: Err.ERR_SUCCESS,
      messages: page.messages,
      hasMore: page.hasMore,
    }),
  );
}
