// Typed request helpers over TestSocket for the realtime commands.
import { Cmd, pb } from "../../../src/protocol/codec";
import type { TestSocket } from "./socket";

export function readReceipt(socket: TestSocket, conversationId: string, serverMsgIds: string[] = []) {
  return socket.request(
    Cmd.CMD_READ_RECEIPT_REQ,
    pb.ReadReceiptRequest,
    { conversationId, serverMsgIds },
    Cmd.CMD_READ_RECEIPT_RSP,
    pb.ReadReceiptResponse,
  );
}

export function revoke(socket: TestSocket, conversationId: string, serverMsgId: string) {
  return socket.request(
    Cmd.CMD_REVOKE_MSG_REQ,
    pb.RevokeMessageRequest,
    { conversationId, serverMsgId },
    Cmd.CMD_REVOKE_MSG_RSP,
    pb.RevokeMessageResponse,
  );
}

export function syncRange(
  socket: TestSocket,
  conversationId: string,
  startSeq: number,
  endSeq = 0,
  count?: number,
) {
  return socket.request(
    Cmd.CMD_SYNC_RANGE_REQ,
    pb.SyncRangeRequest,
    { requestId: crypto.randomUUID(), conversationId, startSeq, endSeq, count },
    Cmd.CMD_SYNC_RANGE_RSP,
    pb.SyncRangeResponse,
  );
}

export function onlineStatus(socket: TestSocket, userIds: string[]) {
  return socket.request(
    Cmd.CMD_ONLINE_STATUS_REQ,
    pb.OnlineStatusRequest,
    { userIds },
    Cmd.CMD_ONLINE_STATUS_RSP,
    pb.OnlineStatusResponse,
  );
}

export async function nextReceipt(socket: TestSocket) {
  return pb.ReadReceiptPush.decode((await socket.nextCommand(Cmd.CMD_READ_RECEIPT_PUSH)).body);
}

export async function nextRevoke(socket: TestSocket) {
  return pb.RevokeMessagePush.decode((await socket.nextCommand(Cmd.CMD_REVOKE_MSG_PUSH)).body);
}

export async function nextTyping(socket: TestSocket) {
  return pb.TypingStatusPush.decode((await socket.nextCommand(Cmd.CMD_TYPING_STATUS_PUSH)).body);
}
