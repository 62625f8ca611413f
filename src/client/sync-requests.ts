// BATCH_SYNC and SYNC_RANGE as plain async functions over the connection, for the receiver to call.
import { Cmd, type ConversationMessages, pb } from "../protocol/codec.ts";
import type { Connection } from "./connection.ts";
import type { RangePage } from "./conversation-stream.ts";
import { expectSuccess } from "./errors.ts";
import { toMessage } from "./message.ts";

export type BatchSync = (
  states: { conversationId: string; lastSeq: number }[],
) => Promise<ConversationMessages[]>;
export type SyncRange = (conversationId: string, startSeq: number, endSeq: number) => Promise<RangePage>;

/**
 * One BATCH_SYNC round trip: every listed conversation after its last_seq, plus the unlisted ones.
 * The receiver continues while has_more, and says so, so the server pushes nothing after the answer.
 */
export function batchSyncOver(connection: Connection, pageSize: number): BatchSync {
  return async (states) => {
    const response = await connection.request(
      Cmd.CMD_BATCH_SYNC_REQ,
      pb.BatchSyncRequest,
      { conversationStates: states, maxCountPerConversation: pageSize, followsHasMore: true },
      { command: Cmd.CMD_BATCH_SYNC_RSP, decode: (b) => pb.BatchSyncResponse.decode(b) },
    );
    return expectSuccess(response, Cmd.CMD_BATCH_SYNC_REQ).conversationMessages;
  };
}

/** One SYNC_RANGE round trip for [startSeq, endSeq], matched by a fresh request_id. */
export function syncRangeOver(connection: Connection, pageSize: number): SyncRange {
  return async (conversationId, startSeq, endSeq) => {
    const requestId = crypto.randomUUID();
    const response = await connection.request(
      Cmd.CMD_SYNC_RANGE_REQ,
      pb.SyncRangeRequest,
      { requestId, conversationId, startSeq, endSeq, count: pageSize },
      { command: Cmd.CMD_SYNC_RANGE_RSP, decode: (b) => pb.SyncRangeResponse.decode(b) },
      { key: `range:${requestId}` },
    );
    const page = expectSuccess(response, Cmd.CMD_SYNC_RANGE_REQ);
    return { messages: page.messages.map(toMessage), endSeq: Number(page.endSeq), hasMore: page.hasMore };
  };
}
