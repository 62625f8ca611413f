// How a request is refused: its own response type with the error code (every such response
// carries error_code = 1 and error_msg = 2), and the fields a client matches that response by.
// Shared by the server and the TCP gateway, which refuses requests before AUTH itself; plain
// TypeScript over the generated codec, so Node runs it as it is.
import { im } from "./generated/im.js";

const pb = im.protocol;
const Cmd = im.protocol.CommandType;

export interface ErrorResponseType {
  encode(message: { errorCode?: number | null; errorMsg?: string | null }): { finish(): Uint8Array };
}

/** Each request that has a response of its own: that response's command and type. */
export const REFUSAL_RESPONSES: Readonly<
  Partial<Record<number, { command: number; type: ErrorResponseType }>>
> = {
  [Cmd.CMD_CONNECT_REQ]: { command: Cmd.CMD_CONNECT_RSP, type: pb.ConnectResponse },
  [Cmd.CMD_AUTH_REQ]: { command: Cmd.CMD_AUTH_RSP, type: pb.AuthResponse },
  [Cmd.CMD_REAUTH_REQ]: { command: Cmd.CMD_REAUTH_RSP, type: pb.AuthResponse },
  [Cmd.CMD_SEND_MSG_REQ]: { command: Cmd.CMD_SEND_MSG_RSP, type: pb.SendMessageResponse },
  [Cmd.CMD_REVOKE_MSG_REQ]: { command: Cmd.CMD_REVOKE_MSG_RSP, type: pb.RevokeMessageResponse },
  [Cmd.CMD_BATCH_SYNC_REQ]: { command: Cmd.CMD_BATCH_SYNC_RSP, type: pb.BatchSyncResponse },
  [Cmd.CMD_SYNC_RANGE_REQ]: { command: Cmd.CMD_SYNC_RANGE_RSP, type: pb.SyncRangeResponse },
  [Cmd.CMD_ONLINE_STATUS_REQ]: { command: Cmd.CMD_ONLINE_STATUS_RSP, type: pb.OnlineStatusResponse },
  [Cmd.CMD_READ_RECEIPT_REQ]: { command: Cmd.CMD_READ_RECEIPT_RSP, type: pb.ReadReceiptResponse },
};

/** The fields a client matches a refusal by, read from the request when it decodes. */
export function correlationOf(command: number, body: Uint8Array): Record<string, string> {
  try {
    if (command === Cmd.CMD_SEND_MSG_REQ) {
      return { clientMsgId: pb.SendMessageRequest.decode(body).message?.clientMsgId ?? "" };
    }
    if (command === Cmd.CMD_SYNC_RANGE_REQ) {
      const req = pb.SyncRangeRequest.decode(body);
      return { requestId: req.requestId, conversationId: req.conversationId };
    }
  } catch {
    // An undecodable body has nothing to correlate.
  }
  return {};
}
