// ConversationObject: the single writer of one conversation (one-to-one, group, or a user's system
// notices). It assigns the gapless seq and the server_msg_id, dedups on (sender, client_msg_id),
// stores each message in its SQLite in one synchronous transaction before answering, then fans out
// to the members' UserObjects and copies history to D1 from its outbox on an alarm. It holds the
// members with their read, delivered and fan-out watermarks, decides group membership changes,
// and revokes messages.
import { DurableObject } from "cloudflare:workers";
import { readSettings, type Settings } from "../../config/settings";
import { database } from "../../db/client";
import { existingUserIds } from "../../db/users";
import { Err } from "../../protocol/codec";
import {
  ConversationType,
  parseConversationId,
  type ParsedConversation,
} from "../../protocol/conversation-id";
import { MessageStatus, type StoredMessage } from "../message";
import { newMessageId } from "../message-ids";
import type {
  MarkReadInput,
  MarkReadResult,
  ReadQuery,
  ReadResult,
  RevokeInput,
  RevokeResult,
  SendInput,
  SendOutcome,
  SendResult,
} from "../rpc";
import { Fanout } from "./fanout";
import { planGroupCommand, type GroupCommand, type GroupFailure, type GroupResult } from "./group-commands";
import { GroupAccess, type Ban, type JoinRequest } from "./group-access";
import { GroupOutbox, MAX_PENDING_GROUP_WRITES } from "./group-outbox";
import {
  FLUSH_BATCH_ROWS,
  registerSingleConversation,
  writeHistory,
  writeHistoryBisecting,
} from "./history-outbox";
import { MemberStore, Role, type Member } from "./member-store";
import { MessageStore, newestWithinBytes, withinBytes, type Identity } from "./message-store";

/**
 * Delay before the first D1 flush after a send: long enough to batch a burst into one D1 batch (each
 * flush is a D1 round trip; at 100 ms a busy conversation flushed ten times a second), short enough
 * for a D1 lag well under its 2 s target.
 */
const FLUSH_DELAY_MS = 500;
/** Retry backoff for a failing D1 flush or fan-out: 1 s doubling to 1 min. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** A sender may revoke a message this long after its server_time (PROTOCOL.md, "Revoke"). */
export const REVOKE_WINDOW_MS = 2 * 60 * 1000;
/** A read receipt push names at most this many newly read messages (PROTOCOL.md, decision 10). */
export const RECEIPT_IDS_LIMIT = 100;
/** The sender id of notices in a user's system conversation. */
export const SYSTEM_SENDER = "system";
/** message_type of notices (PROTOCOL.md, "Value sets"). */
export const NOTICE_MESSAGE_TYPE = 8;

type Failure = { ok: false; code: Err; message: string };
const failure = (code: Err, message: string): Failure => ({ ok: false, code, message });

interface Resolved {
  conversation: ParsedConversation;
  id: Identity;
}

/** Members of one-to-one and system conversations exist before any row does. */
const implicitMember = (userId: string): Member => ({
  userId,
  role: Role.member,
  firstSeq: 1,
  leftSeq: null,
  mutedUntil: 0,
  fanoutSeq: 0,
  readSeq: 0,
  deliveredSeq: 0,
});

export class ConversationObject extends DurableObject<Env> {
  private readonly messages: MessageStore;
  private readonly members: MemberStore;
  private readonly fanout: Fanout;
  private readonly groupOutbox: GroupOutbox;
  private readonly access: GroupAccess;
  private identityCache: Identity | null = null;
  private settingsCache: Settings | null = null;
  /** The alarm time we last set, or undefined when unknown (after a restart). */
  private alarmAt: number | null | undefined = undefined;
  private flushFailures = 0;
  /** While D1 writes fail: no flush is armed sooner than this (the backoff holds under traffic). */
  private flushNotBefore = 0;
  private fanoutFailures = 0;
  private groupWriteFailures = 0;
  /** The clock revoke windows and mutes are measured with; tests move it instead of sleeping. */
  now: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.messages = new MessageStore(ctx.storage);
    this.members = new MemberStore(ctx.storage);
    this.groupOutbox = new GroupOutbox(ctx.storage);
    this.access = new GroupAccess(ctx.storage);
    this.fanout = new Fanout(this.messages, this.members, env.USER_OBJECT, (userId, error) => {
      this.fanoutFailures++;
      const delay = backoff(this.fanoutFailures);
      console.error(
        `fan-out of ${this.identityCache?.conversationId} to ${userId} failed; retry in ${delay} ms`,
        error,
      );
      void this.armAlarm(Date.now() + delay);
    });
  }

  private get settings(): Settings {
    this.settingsCache ??= readSettings(this.env);
    return this.settingsCache;
  }

  // ---- messages ----

  /**
   * Stores one sender's messages to this conversation, in the order given, and answers each with
   * its seq and id (or its earlier copy's, for a resend). A device's queued sends come in one call
   * and are stored in one transaction, fanned out together and flushed to D1 together.
   */
  async send(inputs: readonly SendInput[]): Promise<SendOutcome> {
    const [first] = inputs;
    if (!first) return { results: [], handedBack: null };
    const refused = (why: Failure): SendOutcome => ({ results: inputs.map(() => why), handedBack: null });
    const resolved = this.resolve(first.conversationId);
    if ("ok" in resolved) return refused(resolved);
    const refusal = await this.sendRefusal(resolved, first.senderId);
    if (refusal) return refused(refusal);
    const { conversation, id } = resolved;
    const peer = this.peerOf(conversation, first.senderId);
    const answers: SendResult[] = [];
    const toStore: { index: number; input: SendInput }[] = [];
    inputs.forEach((input, index) => {
      if (input.conversationId !== first.conversationId || input.senderId !== first.senderId) {
        answers[index] = failure(
          Err.ERR_INVALID_PARAM,
          "one call carries one sender's messages to one conversation",
        );
      } else if (input.receiverId !== peer) {
        answers[index] = failure(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
      } else toStore.push({ index, input });
    });
    const now = Date.now();
    const stored = this.messages.appendMany(
      toStore.map(({ input }) => ({
        serverMsgId: newMessageId(),
        clientMsgId: input.clientMsgId,
        senderId: input.senderId,
        receiverId: peer,
        messageType: input.messageType,
        content: input.content,
        sendTime: input.sendTime,
        serverTime: now,
        extra: input.extra,
        attachedInfo: input.attachedInfo,
        originSession: input.originSession,
      })),
      id,
    );
    toStore.forEach(({ index }, i) => {
      const { message, duplicate } = stored[i] as (typeof stored)[number];
      answers[index] = acceptedResult(message, duplicate);
    });
    const fresh = stored.filter((s) => !s.duplicate).map((s) => s.message);
    const [oldest] = fresh;
    const newest = fresh[fresh.length - 1];
    if (!oldest || !newest) return { results: answers, handedBack: null };
    // The sender's object gets its own new messages with this answer, one call fewer, when it can
    // take them in order; otherwise its fan-out pump brings them like anyone else's.
    const sender = first.senderId;
    const handedBack = this.fanout.handBack(sender, oldest.seq, newest.seq);
    const recipients = this.members.activeIds();
    this.fanout.kick(handedBack ? recipients.filter((m) => m !== sender) : recipients, id);
    await this.armFlush();
    return {
      results: answers,
      handedBack: handedBack ? { visibleFrom: this.members.get(sender)?.firstSeq ?? 1 } : null,
    };
  }

  /** The other member of a one-to-one conversation ("" when `userId` is not one of the pair). */
  private peerOf(conversation: ParsedConversation, userId: string): string {
    if (conversation.type !== ConversationType.single || !conversation.members.includes(userId)) return "";
    return conversation.members.find((m) => m !== userId) ?? "";
  }

  /** Why this sender may not send here now, or null. A one-to-one's first send starts it in D1. */
  private async sendRefusal(resolved: Resolved, senderId: string): Promise<Failure | null> {
    const { conversation } = resolved;
    const member = this.memberFor(resolved, senderId);
    if (conversation.type === ConversationType.group) return this.groupSendRefusal(member);
    if (conversation.type !== ConversationType.single)
      return failure(Err.ERR_PERMISSION_DENIED, "only the server writes to this conversation");
    const peer = this.peerOf(conversation, senderId);
    if (!member || !peer)
      return failure(Err.ERR_INVALID_PARAM, "conversation_id does not match sender and receiver");
    if (this.members.isBlocking(peer))
      return failure(Err.ERR_PERMISSION_DENIED, "this user does not accept your messages");
    if (this.members.isEmpty()) return this.startSingle(conversation.id, conversation.members);
    return null;
  }

  /**
   * Messages a member may read, a range from a seq or the newest page, each with its status as the
   * reader sees it. A member reads only from the seq they joined at up to where they left.
   * Reading counts as delivery up to the last message returned.
   */
  async read(query: ReadQuery): Promise<ReadResult> {
    const resolved = this.resolve(query.conversationId, "read");
    if ("ok" in resolved) return resolved;
    const member = this.memberFor(resolved, query.userId);
    if (!member) return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    const { id } = resolved;
    const maxSeq = this.visibleMax(member);
    const upTo = query.toSeq > 0 ? Math.min(query.toSeq, maxSeq) : maxSeq;
    const maxBytes = Math.max(1, query.maxBytes);
    const page = query.newest
      ? this.messages.newest(upTo, query.limit, id, maxBytes)
      : this.messages.range(Math.max(member.firstSeq, query.fromSeq), upTo, query.limit, id, maxBytes);
    // Nothing is marked delivered here: the reader may cut the page to fit a frame, so it marks
    // what it actually gave the device (markDelivered, through its DeliveredMarks).
    const visible = page.filter((m) => m.seq >= member.firstSeq);
    this.annotate(resolved, query.userId, visible);
    // Annotation adds read_by: the page is cut again to its bound with it.
    const messages = query.newest ? newestWithinBytes(visible, maxBytes) : withinBytes(visible, maxBytes);
    return { ok: true, maxSeq, messages };
  }

  /** A member's read receipt: moves the read watermark and tells the senders of what it covered. */
  async markRead(input: MarkReadInput): Promise<MarkReadResult> {
    const resolved = this.resolve(input.conversationId, "read");
    if ("ok" in resolved) return resolved;
    const { conversation, id } = resolved;
    const member = this.memberFor(resolved, input.userId);
    if (!member) return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    const readTime = Date.now();
    const peerId = this.peerOf(conversation, input.userId);
    const result = (readSeq: number, newlyRead: string[] | null): MarkReadResult => ({
      ok: true,
      conversationType: id.conversationType,
      peerId,
      readSeq,
      advanced: newlyRead !== null,
      newlyRead: newlyRead ?? [],
      readTime,
    });
    if (!this.members.get(input.userId)) return result(0, null); // nothing was ever sent here
    const cap = this.visibleMax(member);
    let target = cap;
    if (input.serverMsgIds.length > 0) {
      const found = this.messages.lookup(input.serverMsgIds);
      if (found.length === 0)
        return failure(Err.ERR_INVALID_PARAM, "none of server_msg_ids is in this conversation");
      target = Math.min(cap, Math.max(...found.map((f) => f.seq)));
    }
    const before = this.members.advanceRead(input.userId, target, cap);
    if (target <= before) return result(before, null);

    const newly = this.messages.othersMessagesBetween(before, target, input.userId, RECEIPT_IDS_LIMIT);
    if (this.pushesReceipts(conversation)) {
      const bySender = new Map<string, string[]>();
      for (const { serverMsgId, senderId } of newly) {
        if (senderId === SYSTEM_SENDER) continue;
        bySender.set(senderId, [...(bySender.get(senderId) ?? []), serverMsgId]);
      }
      for (const [sender, serverMsgIds] of bySender) {
        const push = { conversationId: id.conversationId, userId: input.userId, serverMsgIds, readTime };
        void this.env.USER_OBJECT.getByName(sender)
          .pushReceipt(push)
          .catch((error: unknown) => console.error(`receipt push to ${sender} failed`, error));
      }
    }
    return result(
      target,
      newly.map((n) => n.serverMsgId),
    );
  }

  /** MSG_ACK: the member's devices have the messages up to `seq`. */
  async markDelivered(conversationId: string, userId: string, seq: number): Promise<void> {
    const resolved = this.resolve(conversationId, "read");
    if ("ok" in resolved) return;
    const member = this.memberFor(resolved, userId);
    if (member && this.members.get(userId))
      this.members.advanceDelivered(userId, seq, this.visibleMax(member));
  }

  /**
   * Revokes a message: its sender within REVOKE_WINDOW_MS, a group's owner or admins at any time.
   * The row keeps its seq, loses its content, is copied to D1 again, and every member's devices
   * are told.
   */
  async revoke(input: RevokeInput): Promise<RevokeResult> {
    const resolved = this.resolve(input.conversationId, "read");
    if ("ok" in resolved) return resolved;
    const { conversation, id } = resolved;
    const member = this.memberFor(resolved, input.userId);
    if (!member || member.leftSeq !== null)
      return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    const message = this.messages.findByServerMsgId(input.serverMsgId, id);
    if (!message || message.seq < member.firstSeq)
      return failure(Err.ERR_INVALID_PARAM, "no such message in this conversation");
    if (message.isRevoked) return failure(Err.ERR_INVALID_PARAM, "message already revoked");
    const now = this.now();
    const moderator = conversation.type === ConversationType.group && member.role >= Role.admin;
    if (!moderator) {
      if (message.senderId !== input.userId) {
        return failure(
          Err.ERR_PERMISSION_DENIED,
          "only the sender (or a group owner or admin) can revoke this message",
        );
      }
      if (now - message.serverTime > REVOKE_WINDOW_MS) {
        return failure(
          Err.ERR_PERMISSION_DENIED,
          `messages can only be revoked within ${REVOKE_WINDOW_MS / 60_000} minutes`,
        );
      }
    }
    this.messages.revoke(message.seq, input.userId, now);
    await this.armFlush();
    const push = {
      conversationId: id.conversationId,
      serverMsgId: message.serverMsgId,
      revokedBy: input.userId,
      revokedTime: now,
    };
    for (const userId of this.members.activeIds()) {
      // A member who joined after the message never had it: nothing to revoke there.
      if ((this.members.get(userId)?.firstSeq ?? 1) > message.seq) continue;
      void this.env.USER_OBJECT.getByName(userId)
        .pushRevoke(push, message.seq, input.originSession)
        .catch((error: unknown) => console.error(`revoke push to ${userId} failed`, error));
    }
    return { ok: true, revokedTime: now };
  }

  /** Relays a group member's typing status to the other members. Never stored. */
  async typing(conversationId: string, userId: string, status: number): Promise<Failure | null> {
    const resolved = this.resolve(conversationId, "read");
    if ("ok" in resolved) return resolved;
    const member = this.memberFor(resolved, userId);
    if (!member || member.leftSeq !== null)
      return failure(Err.ERR_PERMISSION_DENIED, "not a member of this conversation");
    const push = { conversationId: resolved.id.conversationId, userId, status };
    for (const other of this.members.activeIds()) {
      if (other === userId) continue;
      void this.env.USER_OBJECT.getByName(other)
        .pushTyping(push)
        .catch((error: unknown) => console.warn(`typing push to ${other} failed`, error));
    }
    return null;
  }

  // ---- groups, blocks and system notices ----

  /**
   * Runs one group membership or settings change (group-commands.ts). Commands run one at a time,
   * in a chain of their own rather than in blockConcurrencyWhile: sends and fan-out go on while a
   * command waits for D1, and a D1 error is an answer, never a reset of the object.
   */
  async groupCommand(conversationId: string, command: GroupCommand): Promise<GroupResult> {
    const resolved = this.resolve(conversationId, command.op === "create" ? "create" : "write");
    if ("ok" in resolved) return { ok: false, status: 404, message: "group not found" };
    if (resolved.conversation.type !== ConversationType.group)
      return { ok: false, status: 400, message: "not a group" };
    const { conversation, id } = resolved;
    const run = this.groupCommands.then(() => this.runGroupCommand(conversation.groupId, id, command));
    this.groupCommands = run.catch(() => {});
    return run;
  }

  private groupCommands: Promise<unknown> = Promise.resolve();

  private async runGroupCommand(groupId: string, id: Identity, command: GroupCommand): Promise<GroupResult> {
    if (this.groupOutbox.pending() >= MAX_PENDING_GROUP_WRITES) {
      await this.flushGroupWrites();
      if (this.groupOutbox.pending() >= MAX_PENDING_GROUP_WRITES)
        return { ok: false, status: 503, message: "group changes are paused until D1 catches up; try again" };
    }
    let plan: Awaited<ReturnType<typeof planGroupCommand>>;
    try {
      plan = await planGroupCommand(command, {
        members: this.members,
        access: this.access,
        db: database(this.env),
        maxMembers: this.settings.groupMaxMembers,
        now: this.now(),
      });
    } catch (error) {
      // Only D1 reads (do the users exist?) can fail here, before anything changed.
      console.error(`group command ${command.op} in ${id.conversationId} could not check D1`, error);
      return {
        ok: false,
        status: 503,
        message: "the group could not be changed now; nothing changed, try again",
      };
    }
    if (plan !== null && "ok" in plan) return plan;
    if (plan !== null) {
      const memberCount = this.members.activeCount() + plan.memberCountDelta;
      const write = plan.write && { ...plan.write, groupId, memberCount, at: Date.now() };
      const { notice } = plan;
      // The notice, the change and its D1 write to come: all or nothing.
      this.ctx.storage.transactionSync(() => {
        plan.apply(notice ? this.appendNotice(id, command.actor, notice).seq : this.messages.maxSeq());
        if (write) this.groupOutbox.add(write);
      });
      if (notice) {
        this.fanout.kick(this.members.lagging(this.messages.maxSeq()), id);
        await this.armFlush();
      }
      if (plan.answer) return plan.answer;
    }
    const synced = this.groupOutbox.pending() === 0 || (await this.flushGroupWrites());
    return { ok: true, changed: plan !== null, synced };
  }

  /** A page of the group's ban list or pending join requests, for its owner and admins. */
  async groupAccessList(
    conversationId: string,
    actor: string,
    list: "bans" | "requests",
    offset: number,
    limit: number,
  ): Promise<{ ok: true; bans: Ban[]; requests: JoinRequest[] } | GroupFailure> {
    const resolved = this.resolve(conversationId);
    if ("ok" in resolved || resolved.conversation.type !== ConversationType.group)
      return { ok: false, status: 404, message: "group not found" };
    const member = this.members.get(actor);
    if (!member || member.leftSeq !== null || member.role < Role.admin)
      return {
        ok: false,
        status: 403,
        message: `only the owner or an admin can see the ${list === "bans" ? "ban list" : "join requests"}`,
      };
    return list === "bans"
      ? { ok: true, bans: this.access.bans(offset, limit), requests: [] }
      : { ok: true, bans: [], requests: this.access.requests(offset, limit) };
  }

  /** Writes the group's pending changes to D1; on failure the alarm retries them, backing off. */
  private async flushGroupWrites(): Promise<boolean> {
    try {
      await this.groupOutbox.flush(database(this.env));
      this.groupWriteFailures = 0;
      return true;
    } catch (error) {
      this.groupWriteFailures++;
      const delay = backoff(this.groupWriteFailures);
      console.error(
        `group write of ${this.identityCache?.conversationId} to D1 failed (${this.groupWriteFailures}); retry in ${delay} ms`,
        error,
      );
      await this.armAlarm(Date.now() + delay);
      return false;
    }
  }

  /** A notice for the owner of a system conversation (friend requests and the like). */
  async postNotice(
    conversationId: string,
    payload: Record<string, unknown> & { type: string },
  ): Promise<void> {
    const resolved = this.resolve(conversationId);
    if ("ok" in resolved || resolved.conversation.type !== ConversationType.system) {
      throw new Error(`not a system conversation: ${conversationId}`);
    }
    const owner = resolved.conversation.ownerId;
    if (!this.members.get(owner)) this.members.join(owner, Role.member, 1);
    this.appendNotice(resolved.id, SYSTEM_SENDER, payload);
    this.fanout.kick([owner], resolved.id);
    await this.armFlush();
  }

  /** Records that `blocker` blocks (or no longer blocks) the other member of this conversation. */
  async setBlocking(conversationId: string, blocker: string, blocking: boolean): Promise<void> {
    const resolved = this.resolve(conversationId);
    if ("ok" in resolved || resolved.conversation.type !== ConversationType.single) {
      throw new Error(`not a one-to-one conversation: ${conversationId}`);
    }
    this.members.setBlocking(blocker, blocking);
  }

  // ---- the alarm: D1 history and fan-out retries ----

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const id = this.identityCache ?? this.messages.storedIdentity();
    if (!id) return; // never held a message: nothing to flush or fan out
    if (this.groupOutbox.pending() > 0) await this.flushGroupWrites();
    try {
      const batch = this.messages.outboxBatch(FLUSH_BATCH_ROWS, id);
      if (batch.length > 0 && this.flushFailures === 0) {
        await writeHistory(database(this.env), batch);
        this.messages.outboxDone(batch);
      } else if (batch.length > 0) await this.flushRefusedBatch(batch, id);
      this.flushFailures = 0;
      this.flushNotBefore = 0;
      if (this.messages.hasUnflushed()) await this.armAlarm(Date.now());
    } catch (error) {
      this.flushFailures++;
      const delay = backoff(this.flushFailures);
      this.flushNotBefore = Date.now() + delay;
      console.error(
        `history flush of ${id.conversationId} failed (${this.flushFailures}); retry in ${delay} ms`,
        error,
      );
      // Exactly then, even if a send during this flush armed a sooner one (its fan-out was kicked
      // directly, and lagging members are kicked below).
      this.alarmAt = this.flushNotBefore;
      await this.ctx.storage.setAlarm(this.flushNotBefore);
    }
    this.members.saveFanout();
    const lagging = this.members.lagging(this.messages.maxSeq());
    if (lagging.length > 0) {
      this.fanout.kick(lagging, id);
      // Stay armed until every member has it: a crash mid-fan-out loses the pumps, not the alarm.
      await this.armAlarm(Math.max(Date.now() + backoff(this.fanoutFailures + 1), this.flushNotBefore));
    } else this.fanoutFailures = 0;
  }

  /**
   * A batch D1 refused last time is written in pieces (writeHistoryBisecting): rows D1 refuses on
   * their own are set aside with a log line, and every other row flows. If nothing goes in, D1 is
   * down or full: this throws, every row stays, and the backoff goes on (docs/RELIABILITY.md).
   */
  private async flushRefusedBatch(batch: StoredMessage[], id: Identity): Promise<void> {
    const outcome = await writeHistoryBisecting(database(this.env), batch);
    if (!outcome.wroteAny) throw new Error("D1 refused every row of the batch");
    for (const { message, error } of outcome.refused) {
      console.error(
        JSON.stringify({
          event: "history_row_set_aside",
          conversationId: id.conversationId,
          seq: message.seq,
          error: error.slice(0, 300),
        }),
      );
    }
    this.messages.setAside(outcome.refused);
    this.messages.outboxDone(outcome.settled);
    if (outcome.settled.length < batch.length) throw new Error("part of the batch is still unwritten");
  }

  // ---- helpers ----

  /**
   * Parses the id and binds the object to it; a group must exist unless it is being created. A
   * read-only call ("read") never binds: an object asked about an id it never held writes nothing.
   */
  private resolve(conversationId: string, use: "read" | "write" | "create" = "write"): Resolved | Failure {
    const conversation = parseConversationId(conversationId);
    if (!conversation) return failure(Err.ERR_INVALID_PARAM, "malformed conversation_id");
    if (conversation.type === ConversationType.chatroom) {
      return failure(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversationId} does not exist`);
    }
    if (conversation.type === ConversationType.group && use !== "create" && this.members.isEmpty()) {
      return failure(Err.ERR_CONVERSATION_NOT_EXIST, `conversation ${conversationId} does not exist`);
    }
    const wanted: Identity = {
      conversationId: conversation.id,
      conversationType: conversation.type,
      groupId: conversation.type === ConversationType.group ? conversation.groupId : "",
    };
    if (use === "read" && !this.identityCache) {
      const stored = this.messages.storedIdentity();
      if (!stored) return { conversation, id: wanted };
      if (stored.conversationId !== wanted.conversationId)
        throw new Error(`object of ${stored.conversationId} asked about ${wanted.conversationId}`);
      this.identityCache = stored;
    }
    this.identityCache ??= this.messages.identity(wanted);
    return { conversation, id: this.identityCache };
  }

  /** Who may read here: the pair of a one-to-one, the owner of a system conversation, group members. */
  private memberFor({ conversation }: Resolved, userId: string): Member | null {
    const row = this.members.get(userId);
    switch (conversation.type) {
      case ConversationType.single:
        return conversation.members.includes(userId) ? (row ?? implicitMember(userId)) : null;
      case ConversationType.system:
        return conversation.ownerId === userId ? (row ?? implicitMember(userId)) : null;
      default:
        return row;
    }
  }

  /** The newest seq a member may see: all of them, or up to where they left. */
  private visibleMax(member: Member): number {
    return Math.min(this.messages.maxSeq(), member.leftSeq ?? Infinity);
  }

  private groupSendRefusal(member: Member | null): Failure | null {
    if (!member || member.leftSeq !== null)
      return failure(Err.ERR_PERMISSION_DENIED, "not a member of this group");
    const state = this.members.groupState();
    if (state.status === 1) return failure(Err.ERR_PERMISSION_DENIED, "the group has been dismissed");
    if (member.role >= Role.admin) return null;
    if (state.muteAll)
      return failure(Err.ERR_PERMISSION_DENIED, "the group is muted: only the owner and admins can send");
    if (member.mutedUntil > this.now()) {
      return failure(
        Err.ERR_PERMISSION_DENIED,
        `you are muted until ${new Date(member.mutedUntil).toISOString()}`,
      );
    }
    return null;
  }

  /** Group receipts go out only up to the receipt size setting (PROTOCOL.md, decision 10). */
  private pushesReceipts(conversation: ParsedConversation): boolean {
    return (
      conversation.type === ConversationType.single ||
      (conversation.type === ConversationType.group &&
        this.members.activeCount() <= this.settings.groupReceiptMaxMembers)
    );
  }

  /** Each message's status as the reader sees it; in groups, who read the reader's own messages. */
  private annotate({ conversation }: Resolved, readerId: string, messages: StoredMessage[]): void {
    const reader = this.members.get(readerId);
    const group = conversation.type === ConversationType.group;
    const listReaders = group && this.members.activeCount() <= this.settings.groupReceiptMaxMembers;
    const others =
      conversation.type === ConversationType.single
        ? conversation.members.filter((m) => m !== readerId).map((m) => this.members.get(m))
        : [];
    // The reader's own messages in a group: read counts for the whole page in one indexed pass.
    const own = group ? messages.filter((m) => m.senderId === readerId).map((m) => m.seq) : [];
    const readStatus = this.members.readStatus(own, readerId, listReaders);
    for (const m of messages) {
      if (m.senderId !== readerId) {
        m.status = (reader?.readSeq ?? 0) >= m.seq ? MessageStatus.read : MessageStatus.delivered;
      } else if (group) {
        const read = readStatus.get(m.seq) ?? { count: 0 };
        m.readCount = read.count;
        if (read.readers) m.readBy = read.readers;
        m.status = read.count > 0 ? MessageStatus.read : MessageStatus.delivered;
      } else if (others.some((o) => (o?.readSeq ?? 0) >= m.seq)) {
        m.status = MessageStatus.read;
      } else {
        m.status = others.some((o) => (o?.deliveredSeq ?? 0) >= m.seq)
          ? MessageStatus.delivered
          : MessageStatus.sent;
      }
    }
  }

  private appendNotice(id: Identity, actor: string, payload: Record<string, unknown>): StoredMessage {
    const now = Date.now();
    return this.messages.append(
      {
        serverMsgId: newMessageId(),
        clientMsgId: `notice-${newMessageId()}`,
        senderId: actor,
        receiverId: "",
        messageType: NOTICE_MESSAGE_TYPE,
        content: new TextEncoder().encode(JSON.stringify(payload)),
        sendTime: now,
        serverTime: now,
        extra: "",
        attachedInfo: "",
        originSession: "",
      },
      id,
    );
  }

  /** First message of a one-to-one conversation: both users must exist. */
  private async startSingle(conversationId: string, members: [string, string]): Promise<Failure | null> {
    const db = database(this.env);
    const existing = await existingUserIds(db, members);
    if (!members.every((m) => existing.has(m)))
      return failure(Err.ERR_USER_NOT_EXIST, "receiver does not exist");
    await registerSingleConversation(db, conversationId, members);
    for (const m of members) if (!this.members.get(m)) this.members.join(m, Role.member, 1);
    return null;
  }

  /** Arms the D1 flush FLUSH_DELAY_MS from now, but not inside the backoff of a failing D1. */
  private armFlush(): Promise<void> {
    return this.armAlarm(Math.max(Date.now() + FLUSH_DELAY_MS, this.flushNotBefore));
  }

  /** Sets the alarm to `at` unless one is already due sooner. */
  private async armAlarm(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}

function acceptedResult(message: StoredMessage, duplicate: boolean): SendResult {
  return {
    ok: true,
    serverMsgId: message.serverMsgId,
    seq: message.seq,
    serverTime: message.serverTime,
    duplicate,
  };
}

/** The retry delay after `failures` failures in a row: 1 s doubling to 1 min. */
export function backoff(failures: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failures - 1), RETRY_MAX_MS);
}
