// ConversationObject: the single writer of one conversation. It assigns the gapless seq and the
// server_msg_id, dedups on (sender, client_msg_id), stores each message in its SQLite in one
// synchronous transaction before answering, then fans out to the members' UserObjects and copies
// history to D1 from its outbox on an alarm.
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
import type { StoredMessage } from "../message";
import type { ReadQuery, ReadResult, SendInput, SendResult } from "../rpc";
import { Fanout } from "./fanout";
import { FLUSH_BATCH_ROWS, registerSingleConversation, writeHistory } from "./history-outbox";
import { MessageStore, type Identity } from "./message-store";

/** Delay before the first D1 flush after a send: long enough to batch a burst, short for D1 lag. */
const FLUSH_DELAY_MS = 100;
/** Retry backoff for a failing D1 flush or fan-out: 1 s doubling to 1 min. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export class ConversationObject extends DurableObject<Env> {
  private readonly store: MessageStore;
  private readonly fanout: Fanout;
  private identityCache: Identity | null = null;
  /** The alarm time we last set, or undefined when unknown (after a restart). */
  private alarmAt: number | null | undefined = undefined;
  private flushFailures = 0;
  private fanoutFailures = 0;

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
    const conversation = parseConversationId(input.conversationId);
    if (!conversation)
      return { ok: false, code: Err.ERR_INVALID_PARAM, message: "malformed conversation_id" };
    if (conversation.type !== ConversationType.single) {
      return {
        ok: false,
        code: Err.ERR_CONVERSATION_NOT_EXIST,
        message: "only one-to-one conversations exist yet",
      };
    }
    const [a, b] = conversation.members;
    const peer = input.senderId === a ? b : input.senderId === b ? a : null;
    if (peer === null || input.receiverId !== peer) {
      return {
        ok: false,
        code: Err.ERR_INVALID_PARAM,
        message: "conversation_id does not match sender and receiver",
      };
    }
    const id = this.identity(conversation);

    const earlier = this.store.findByClientMsgId(input.senderId, input.clientMsgId, id);
    if (earlier) return accepted(earlier, true);

    if (this.store.memberIds().length === 0) {
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

  /** Messages a member may read: a range from a seq, or the newest page. */
  async read(query: ReadQuery): Promise<ReadResult> {
    const conversation = parseConversationId(query.conversationId);
    if (!conversation)
      return { ok: false, code: Err.ERR_INVALID_PARAM, message: "malformed conversation_id" };
    if (conversation.type !== ConversationType.single) {
      return { ok: false, code: Err.ERR_CONVERSATION_NOT_EXIST, message: "conversation does not exist" };
    }
    if (!conversation.members.includes(query.userId)) {
      return { ok: false, code: Err.ERR_PERMISSION_DENIED, message: "not a member of this conversation" };
    }
    const id = this.identity(conversation);
    const maxSeq = this.store.maxSeq();
    const upTo = query.toSeq > 0 ? Math.min(query.toSeq, maxSeq) : maxSeq;
    const messages = query.newest
      ? this.store.newest(upTo, query.limit, id)
      : this.store.range(Math.max(1, query.fromSeq), upTo, query.limit, id);
    return { ok: true, maxSeq, messages };
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

  private identity(conversation: ParsedConversation): Identity {
    this.identityCache ??= this.store.identity({
      conversationId: conversation.id,
      conversationType: conversation.type,
      groupId: conversation.type === ConversationType.group ? conversation.groupId : "",
    });
    return this.identityCache;
  }

  /** First message of a one-to-one conversation: both users must exist. */
  private async startSingle(conversationId: string, members: [string, string]): Promise<SendResult | null> {
    const db = database(this.env);
    const existing = await existingUserIds(db, members);
    if (!members.every((m) => existing.has(m))) {
      return { ok: false, code: Err.ERR_USER_NOT_EXIST, message: "receiver does not exist" };
    }
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

function backoff(failures: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failures - 1), RETRY_MAX_MS);
}
