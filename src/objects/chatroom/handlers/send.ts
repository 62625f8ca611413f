// CHATROOM_SEND_REQ: checked here (ids, size, the speaker's session), sequenced and stored by the
// room, answered once stored. The sender gets its own message in the room's push like everyone.
import { Cmd, Err, encodeFrame, pb } from "../../../protocol/codec";
import type { im } from "../../../protocol/generated/im.js";
import { CloseCode, MAX_CLIENT_MSG_ID_LENGTH } from "../../../protocol/limits";
import { closeSocket, sendFrame } from "../../user/socket-state";
import { ChatroomRequestError, decodeBody, type RelayFrame } from "../relay-frame";
import { checkSpeaker } from "../speaker-check";

export async function chatroomSend(fc: RelayFrame): Promise<void> {
  const req = decodeBody(fc, pb.ChatroomSendRequest);
  if (req.clientMsgId.length === 0 || req.clientMsgId.length > MAX_CLIENT_MSG_ID_LENGTH)
    throw new ChatroomRequestError(
      Err.ERR_INVALID_PARAM,
      `client_msg_id must be 1 to ${MAX_CLIENT_MSG_ID_LENGTH} characters`,
    );
  if (req.content.byteLength > fc.settings.messageMaxBytes)
    throw new ChatroomRequestError(
      Err.ERR_MESSAGE_TOO_LARGE,
      `content exceeds ${fc.settings.messageMaxBytes} bytes`,
    );
  try {
    await checkSpeaker(fc);
  } catch (error) {
    if (!(error instanceof ChatroomRequestError)) throw error;
    answer(fc, { errorCode: error.code, errorMsg: error.message, clientMsgId: req.clientMsgId });
    return closeSocket(fc.ws, CloseCode.policyViolation, error.message);
  }
  const result = await fc.room().send(fc.listener.userId, {
    clientMsgId: req.clientMsgId,
    messageType: req.messageType,
    content: req.content,
  });
  if (!result.ok) throw new ChatroomRequestError(result.code, result.message);
  answer(fc, {
    errorCode: Err.ERR_SUCCESS,
    clientMsgId: req.clientMsgId,
    serverMsgId: result.serverMsgId,
    seq: result.seq,
    serverTime: result.serverTime,
  });
}

function answer(fc: RelayFrame, body: im.protocol.ChatroomSendResponse.$Properties): void {
  sendFrame(fc.ws, encodeFrame(Cmd.CMD_CHATROOM_SEND_RSP, fc.frame.sequence, pb.ChatroomSendResponse, body));
}
