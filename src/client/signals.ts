// Receipts, revokes, typing and presence: their requests, and their pushes decoded into typed events.
import { Cmd, type Frame, pb } from "../protocol/codec.ts";
import type { Connection } from "./connection.ts";
import { expectSuccess } from "./errors.ts";
import type { PresenceEvent, ReceiptEvent, RevokeEvent, TypingEvent } from "./types.ts";

/** The iOS SDK sends "typing" at most once per 5 s per conversation; so does this client. */
export const TYPING_THROTTLE_MS = 5_000;

export interface SignalHandlers {
  receipt(event: ReceiptEvent): void;
  revoke(event: RevokeEvent): void;
  typing(event: TypingEvent): void;
  presence(event: PresenceEvent): void;
}

/** Decodes a receipt, revoke, typing or presence push; false for any other command. */
export function dispatchSignal(frame: Frame, on: SignalHandlers): boolean {
  switch (frame.command) {
    case Cmd.CMD_READ_RECEIPT_PUSH: {
      const p = pb.ReadReceiptPush.decode(frame.body);
      on.receipt({
        conversationId: p.conversationId,
        userId: p.userId,
        serverMsgIds: [...p.serverMsgIds],
        readTime: Number(p.readTime),
      });
      return true;
    }
    case Cmd.CMD_REVOKE_MSG_PUSH: {
      const p = pb.RevokeMessagePush.decode(frame.body);
      on.revoke({
        conversationId: p.conversationId,
        serverMsgId: p.serverMsgId,
        revokedBy: p.revokedBy,
        revokedTime: Number(p.revokedTime),
      });
      return true;
    }
    case Cmd.CMD_TYPING_STATUS_PUSH: {
      const p = pb.TypingStatusPush.decode(frame.body);
      on.typing({ conversationId: p.conversationId, userId: p.userId, typing: p.status === 1 });
      return true;
    }
    case Cmd.CMD_STATUS_CHANGE_PUSH: {
      const status = pb.StatusChangePush.decode(frame.body).status;
      if (status) on.presence(toPresence(status));
      return true;
    }
    default:
      return false;
  }
}

function toPresence(s: {
  userId?: string | null;
  online?: boolean | null;
  platforms?: string[] | null;
  lastSeen?: number | null;
}): PresenceEvent {
  return {
    userId: s.userId ?? "",
    online: s.online ?? false,
    platforms: [...(s.platforms ?? [])],
    lastSeen: Number(s.lastSeen ?? 0),
  };
}

/**
 * The requests behind receipts, revokes, typing and presence, over the client's connection. The
 * server answers them with ERR_UNKNOWN ("not supported yet") until its side lands.
 */
export class Signals {
  private readonly lastTyping = new Map<string, number>();
  private readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /** Marks messages read (up to the highest of `serverMsgIds`; all of the conversation when empty). */
  async markRead(conversationId: string, serverMsgIds: readonly string[] = []): Promise<void> {
    const response = await this.connection.request(
      Cmd.CMD_READ_RECEIPT_REQ,
      pb.ReadReceiptRequest,
      { conversationId, serverMsgIds: [...serverMsgIds] },
      { command: Cmd.CMD_READ_RECEIPT_RSP, decode: (b) => pb.ReadReceiptResponse.decode(b) },
    );
    expectSuccess(response, Cmd.CMD_READ_RECEIPT_REQ);
  }

  async revoke(conversationId: string, serverMsgId: string): Promise<void> {
    const response = await this.connection.request(
      Cmd.CMD_REVOKE_MSG_REQ,
      pb.RevokeMessageRequest,
      { conversationId, serverMsgId },
      { command: Cmd.CMD_REVOKE_MSG_RSP, decode: (b) => pb.RevokeMessageResponse.decode(b) },
    );
    expectSuccess(response, Cmd.CMD_REVOKE_MSG_REQ);
  }

  /** Tells the other members this user is typing (throttled) or stopped; false when not sent. */
  setTyping(conversationId: string, typing: boolean): boolean {
    const now = Date.now();
    if (typing && now - (this.lastTyping.get(conversationId) ?? -Infinity) < TYPING_THROTTLE_MS) return false;
    if (typing) this.lastTyping.set(conversationId, now);
    else this.lastTyping.delete(conversationId);
    return this.connection.transmit(Cmd.CMD_TYPING_STATUS_REQ, pb.TypingStatusRequest, {
      conversationId,
      status: typing ? 1 : 0,
    });
  }

  async presence(userIds: readonly string[]): Promise<PresenceEvent[]> {
    const response = await this.connection.request(
      Cmd.CMD_ONLINE_STATUS_REQ,
      pb.OnlineStatusRequest,
      { userIds: [...userIds] },
      { command: Cmd.CMD_ONLINE_STATUS_RSP, decode: (b) => pb.OnlineStatusResponse.decode(b) },
    );
    return expectSuccess(response, Cmd.CMD_ONLINE_STATUS_REQ).statuses.map(toPresence);
  }
}
