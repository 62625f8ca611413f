// ConversationObject: the single writer of one conversation. It assigns the gapless seq and the
// server_msg_id, dedups on (sender, client_msg_id), stores each message in its SQLite in one
// synchronous transaction before answering, then fans out to the members' UserObjects and copies
// history to D1 from its outbox on an alarm. It also keeps the members' read and delivered
// watermarks (receipts, message status) and revokes messages.
import { DurableObject } from "cloudflare:workers";
import { ulid } from "ulid";
import { database } from "../../db/client";
import { existingUserIds } from "../../db/users";
import { Err } from "../../protocol/codec";
import {
  ConversationType,
  parseConversationId,
  type ParsedConversation,
} from "../../protocol/conversation-id";
import { MessageStatus, type StoredMessage } from "../message";
import type {
  MarkReadInput,
  MarkReadResult,
  ReadQuery,
  ReadResult,
  RevokeInput,
  RevokeResult,
  SendInput,
  SendResult,
} from "../rpc";
import { Fanout } from "./fanout";
import { FLUSH_BATCH_ROWS, registerSingleConversation, writeHistory } from "./history-outbox";
import { MessageStore, type Identity, type Member } from "./message-store";

/** Delay before the first D1 flush after a send: long enough to batch a burst, short for D1 lag. */
const FLUSH_DELAY_MS = 100;
/** Retry backoff for a failing D1 flush or fan-out: 1 s doubling to 1 min. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** A sender may revoke a message this long after its server_time (PROTOCOL.md, "Revoke"). */
export const REVOKE_WINDOW_MS = 2 * 60 * 1000;
/** A read receipt push names at most this many newly read messages (PROTOCOL.md, decision 10). */
export const RECEIPT_IDS_LIMIT = 100;

type Failure = { ok: false; code: Err; message: string };
const failure = (code: Err, message: string): Failure => ({ ok: false, code, message });

export class ConversationObject extends DurableObject<Env> {
  private readonly store: MessageStore;
  private readonly fanout: Fanout;
  private identityCache: Identity | null = null;
  /** The alarm time we last set, or undefined when unknown (after a restart). */
  private alarmAt: number | null | undefined = undefined;
  private flushFailures = 0;
  private fanoutFailures = 0;
  /** The clock revoke windows are measured with; tests move it instead of sleeping. */
  now: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new MessageStore(ctx.storage);
    this.fanout = new Fanout(this.store, env.USER_OBJECT, (userId, error) => {
      this.fanoutFailures++;
      const delay = backoff(this.fanoutFailures);
      console.error(
        `fan-out of ${this.identityCache?.conversationId} to ${userId} failed; retry in ${delay} ms`,
        error,
      );
      void this.armAlarm(Date.now() + delay);
    });
  }

  /** Stores one message (or finds its earlier copy) and answers with its seq and id. */
  async send(input: SendInput): Promise<SendResult> {
    const conversation = this.singleConversation(input.conversationId);
    if ("ok" in conversation) return conversation;
    const [a, b] = conversation.members;
    const peer = input.senderId === a ? b : input.senderId === b ? a : null;
    if (peer === null || input.receiverId !== peer) {
      return failure(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
    }
    const id = this.identity(conversation);

    const earlier = this.store.findByClientMsgId(input.senderId, input.clientMsgId, id);
    if (earlier) return accepted(earlier, true);

    if (!this.store.hasMembers()) {
      const problem = await this.startSingle(conversation.id, conversation.members);
      if (problem) return problem;
      // Another send may have stored this message while we waited on D1.
      const raced = this.store.findByClientMsgId(input.senderId, input.clientMsgId, id);
      if (raced) return accepted(raced, true);
    }

    const stored = this.store.append(
      {
        serverMsgId: ulid(),
        clientMsgId: input.clientMsgId,
        senderId: input.senderId,
        receiverId: input.receiverId,
        messageType: input.messageType,
        content: input.content,
        sendTime: input.sendTime,
        serverTime: Date.now(),
        extra: input.extra,
        attachedInfo: input.attachedInfo,
        originSession: input.originSession,
      },
      id,
    );
    this.fanout.kick(this.store.memberIds(), id);
    await this.armAlarm(Date.now() + FLUSH_DELAY_MS);
    return accepted(stored, false);
  }

  /**
   * Messages a member may read, a range from a seq or the newest page, each with its status as the
   * reader sees it. Reading counts as delivery up to the last message returned.
   */
  async read(query: ReadQuery): Promise<ReadResult> {
    const conversation = this.singleConversation(query.conversationId);
    if ("ok" in conversation) return conversation;
    if (!conversation.members.includes(query.userId)) {
      return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    }
    const id = this.identity(conversation);
    const maxSeq = this.store.maxSeq();
    const upTo = query.toSeq > 0 ? Math.min(query.toSeq, maxSeq) : maxSeq;
    const messages = query.newest
      ? this.store.newest(upTo, query.limit, id)
      : this.store.range(Math.max(1, query.fromSeq), upTo, query.limit, id);
    const last = messages[messages.length - 1];
    if (last) this.store.advanceDelivered(query.userId, last.seq);
    const reader = this.store.member(query.userId);
    const others = conversation.members.filter((m) => m !== query.userId).map((m) => this.store.member(m));
    for (const m of messages) m.status = statusFor(m, query.userId, reader, others);
    return { ok: true, maxSeq, messages };
  }

  /** A member's read receipt: moves the read watermark and tells the senders of what it covered. */
  async markRead(input: MarkReadInput): Promise<MarkReadResult> {
    const conversation = this.singleConversation(input.conversationId);
    if ("ok" in conversation) return conversation;
    if (!conversation.members.includes(input.userId)) {
      return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    }
    const id = this.identity(conversation);
    const readTime = Date.now();
    const peerId = conversation.members.find((m) => m !== input.userId) ?? "";
    const result = (readSeq: number, newlyRead: string[] | null): MarkReadResult => ({
      ok: true,
      conversationType: id.conversationType,
      peerId,
      readSeq,
      advanced: newlyRead !== null,
      newlyRead: newlyRead ?? [],
      readTime,
    });
    const member = this.store.member(input.userId);
    if (!member) return result(0, null);
    let target = this.store.maxSeq();
    if (input.serverMsgIds.length > 0) {
      const found = this.store.lookup(input.serverMsgIds);
      if (found.length === 0)
        return failure(Err.ERR_INVALID_PARAM, "none of server_msg_ids is in this conversation");
      target = Math.max(...found.map((f) => f.seq));
    }
    const before = this.store.advanceRead(input.userId, target);
    if (target <= before) return result(before, null);

    const newly = this.store.othersMessagesBetween(before, target, input.userId, RECEIPT_IDS_LIMIT);
    const bySender = new Map<string, string[]>();
    for (const { serverMsgId, senderId } of newly) {
      bySender.set(senderId, [...(bySender.get(senderId) ?? []), serverMsgId]);
    }
    for (const [sender, serverMsgIds] of bySender) {
      const push = { conversationId: id.conversationId, userId: input.userId, serverMsgIds, readTime };
      void this.env.USER_OBJECT.getByName(sender)
        .pushReceipt(push)
        .catch((error: unknown) => console.error(`receipt push to ${sender} failed`, error));
    }
    return result(
      target,
      newly.map((n) => n.serverMsgId),
    );
  }

  /** MSG_ACK: the member's devices have the messages up to `seq`. */
  async markDelivered(conversationId: string, userId: string, seq: number): Promise<void> {
    const conversation = this.singleConversation(conversationId);
    if ("ok" in conversation || !conversation.members.includes(userId)) return;
    this.identity(conversation);
    this.store.advanceDelivered(userId, seq);
  }

  /**
   * Revokes a message: only its sender, within REVOKE_WINDOW_MS. The row keeps its seq, loses its
   * content, is copied to D1 again, and every member's devices are told.
   */
  async revoke(input: RevokeInput): Promise<RevokeResult> {
    const conversation = this.singleConversation(input.conversationId);
    if ("ok" in conversation) return conversation;
    if (!conversation.members.includes(input.userId)) {
      return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    }
    const id = this.identity(conversation);
    const message = this.store.findByServerMsgId(input.serverMsgId, id);
    if (!message) return failure(Err.ERR_INVALID_PARAM, "no such message in this conversation");
    if (message.isRevoked) return failure(Err.ERR_INVALID_PARAM, "message already revoked");
    if (message.senderId !== input.userId) {
      return failure(Err.ERR_PERMISSION_DENIED, "only the sender can revoke this message");
    }
    const now = this.now();
    if (now - message.serverTime > REVOKE_WINDOW_MS) {
      return failure(
        Err.ERR_PERMISSION_DENIED,
        `messages can only be revoked within ${REVOKE_WINDOW_MS / 60_000} minutes`,
      );
    }
    this.store.revoke(message.seq, input.userId, now);
    await this.armAlarm(Date.now() + FLUSH_DELAY_MS);
    const push = {
      conversationId: id.conversationId,
      serverMsgId: message.serverMsgId,
      revokedBy: input.userId,
      revokedTime: now,
    };
    for (const member of this.store.memberIds()) {
      void this.env.USER_OBJECT.getByName(member)
        .pushRevoke(push, message.seq, input.originSession)
        .catch((error: unknown) => console.error(`revoke push to ${member} failed`, error));
    }
    return { ok: true, revokedTime: now };
  }

  /** Flushes the outbox to D1 and resumes any fan-out that fell behind. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const id = this.identityCache ?? this.store.storedIdentity();
    if (!id) return; // never held a message: nothing to flush or fan out
    try {
      const batch = this.store.outboxBatch(FLUSH_BATCH_ROWS, id);
      if (batch.length > 0) {
        await writeHistory(database(this.env), batch);
        this.store.outboxDone(batch.map((m) => m.seq));
      }
      this.flushFailures = 0;
      if (this.store.outboxSize() > 0) await this.armAlarm(Date.now());
    } catch (error) {
      this.flushFailures++;
      const delay = backoff(this.flushFailures);
      console.error(
        `history flush of ${id.conversationId} failed (${this.flushFailures}); retry in ${delay} ms`,
        error,
      );
      await this.armAlarm(Date.now() + delay);
    }
    const lagging = this.store.laggingMembers();
    if (lagging.length > 0) this.fanout.kick(lagging, id);
    else this.fanoutFailures = 0;
  }

  /** Parses the id; only one-to-one conversations exist so far. */
  private singleConversation(
    conversationId: string,
  ): Extract<ParsedConversation, { type: typeof ConversationType.single }> | Failure {
    const conversation = parseConversationId(conversationId);
    if (!conversation) return failure(Err.ERR_INVALID_PARAM, "malformed conversation_id");
    if (conversation.type !== ConversationType.single) {
      return failure(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversationId} does not exist`);
    }
    return conversation;
  }

  private identity(conversation: ParsedConversation): Identity {
    this.identityCache ??= this.store.identity({
      conversationId: conversation.id,
      conversationType: conversation.type,
      groupId: conversation.type === ConversationType.group ? conversation.groupId : "",
    });
    return this.identityCache;
  }

  /** First message of a one-to-one conversation: both users must exist. */
  private async startSingle(conversationId: string, members: [string, string]): Promise<Failure | null> {
    const db = database(this.env);
    const existing = await existingUserIds(db, members);
    if (!members.every((m) => existing.has(m)))
      return failure(Err.ERR_USER_NOT_EXIST, "receiver does not exist");
    await registerSingleConversation(db, conversationId, members);
    this.store.addMembers(members);
    return null;
  }

  /** Sets the alarm to `at` unless one is already due sooner. */
  private async armAlarm(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}

function accepted(message: StoredMessage, duplicate: boolean): SendResult {
  return {
    ok: true,
    serverMsgId: message.serverMsgId,
    seq: message.seq,
    serverTime: message.serverTime,
    duplicate,
  };
}

/**
 * A message's status as its reader sees it: for the reader's own messages, whether the others
 * have it (delivered) or read it; for the others' messages, whether the reader has read it.
 */
function statusFor(
  m: StoredMessage,
  readerId: string,
  reader: Member | null,
  others: (Member | null)[],
): number {
  if (m.senderId !== readerId) {
    return (reader?.readSeq ?? 0) >= m.seq ? MessageStatus.read : MessageStatus.delivered;
  }
  if (others.some((o) => (o?.readSeq ?? 0) >= m.seq)) return MessageStatus.read;
  if (others.some((o) => (o?.deliveredSeq ?? 0) >= m.seq)) return MessageStatus.delivered;
  return MessageStatus.sent;
}

function backoff(failures: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failures - 1), RETRY_MAX_MS);
}
