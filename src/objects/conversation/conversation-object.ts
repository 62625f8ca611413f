// ConversationObject: the single writer of one conversation (one-to-one, group, or a user's system
// notices). It assigns the gapless seq and the server_msg_id, dedups on (sender, client_msg_id),
// stores each message in its SQLite in one synchronous transaction before answering, then fans out
// to the members' UserObjects and copies history to D1 from its outbox through a history writer. It holds the
// members with their read, delivered and fan-out watermarks, decides group membership changes,
// and revokes messages. This class is its list of entry points: each one checks which conversation
// it is (its name, read once) and hands the work to the module named after it.
import { DurableObject } from "cloudflare:workers";
import { readSettings, type Settings } from "../../config/settings";
import { database } from "../../db/client";
import { shardDatabase } from "../../db/history-shards";
import { ConversationType } from "../../protocol/conversation-id";
import { Err } from "../../protocol/codec";
import {
  refusal,
  type MarkReadInput,
  type MarkReadResult,
  type ReadQuery,
  type ReadResult,
  type Refusal,
  type AdminRevokeResult,
  type AdminRevokeTarget,
  type RevokeInput,
  type RevokeResult,
  type SendInput,
  type SendOutcome,
  type ChangesQuery,
  type ChangesResult,
  type EditHistoryQuery,
  type EditHistoryResult,
  type EditInput,
  type EditResult,
  type ForwardSourceResult,
  type MessageQuery,
  type PinInput,
  type PinResult,
  type ReactInput,
  type ReactResult,
  type ThreadQuery,
  type ThreadResult,
} from "../rpc";
import { AlarmClock } from "./alarm-clock";
import { BlockStore } from "./blocks";
import { ChangePump } from "./change-pump";
import { changes } from "./changes";
import { edit, editHistory } from "./edits";
import { forwardSource } from "./forward-source";
import { pin } from "./pins";
import { react } from "./reactions";
import { RichStore } from "./rich-store";
import { thread } from "./threads";
import type { ConversationContext } from "./context";
import { admit, sendRefusal, type Use } from "./conversation-access";
import { Fanout } from "./fanout";
import { FanoutRetry } from "./fanout-retry";
import type { Ban, JoinRequest } from "./group-access";
import { GroupAccess } from "./group-access";
import { listAccess } from "./group-access-commands";
import type { GroupCommand, GroupResult } from "./group-commands";
import { GroupOutbox } from "./group-outbox";
import type { GroupFailure } from "./group-plan";
import { GroupRunner } from "./group-runner";
import { HistoryFlush } from "./history-flush";
import { HistoryShardChoice } from "./history-shard";
import { historyWriterId } from "../history/writer-for";
import type { Identity } from "../message";
import { identityFromName, IdentityStore, type Named } from "./identity";
import { MemberStore } from "./member-store";
import { MessageStore } from "./message-store";
import { postSystemNotice, type NoticePayload } from "./notices";
import { OutboxStore } from "./outbox-store";
import { readPage } from "./read-page";
import { PeerDelivered } from "./peer-delivered";
import { markDelivered, markRead } from "./read-receipts";
import { adminRevoke, revoke } from "./revoke";
import { storeSends } from "./sends";
import { relayTyping } from "./typing";
import { WebhookEvents } from "./webhook-events";
import { countInvocation, meterInvocations, meteredStorage } from "../../lib/usage-meter";
import { useMetrics } from "../../observability/metrics";
import { logEvent } from "../../observability/log";

export class ConversationObject extends DurableObject<Env> {
  /** The conversation this object is, from its name (identity.ts); or what every call answers. */
  /** From the name; null when the runtime gave none (see `named`). */
  private readonly fromName: Named | Refusal | null;
  private readonly c: ConversationContext;
  private readonly groups: GroupRunner;
  private readonly fanoutRetry: FanoutRetry;
  private settingsCache: Settings | null = null;
  /** The clock revoke windows and mutes are measured with; tests move it instead of sleeping. */
  now: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countInvocation("conversation", "start");
    this.fromName = ctx.id.name === undefined ? null : identityFromName(ctx.id.name);
    const storage = meteredStorage(ctx.storage, env);
    useMetrics(env);
    const messages = new MessageStore(storage);
    const outbox = new OutboxStore(storage, messages);
    const members = new MemberStore(storage);
    const alarms = new AlarmClock(storage);
    const identities = new IdentityStore(storage);
    const label = () => ctx.id.name ?? identities.stored()?.conversationId ?? "(unnamed)";
    const db = () => database(this.env);
    /** This conversation's history writer's id, looked up once; a new stub for each call (object-ids.ts). */
    let writerId: DurableObjectId | undefined;
    this.fanoutRetry = new FanoutRetry(alarms, label);
    const groupOutbox = new GroupOutbox(storage);
    const settings = () => (this.settingsCache ??= readSettings(this.env));
    const historyShard = new HistoryShardChoice(storage, outbox, () => this.env, settings);
    /** Whatever but the history copy and the webhook events keeps the alarm (their own checks add theirs). */
    const rich = new RichStore(storage);
    const changePump = new ChangePump(
      storage,
      messages,
      members,
      rich,
      () => this.env.USER_OBJECT,
      alarms,
      label,
    );
    const othersNeedAlarm = () => {
      members.saveFanout();
      return groupOutbox.pending() > 0 || members.anyLagging(messages.maxSeq()) || changePump.anyLagging();
    };
    const webhookEvents = new WebhookEvents(
      storage,
      messages,
      outbox,
      groupOutbox,
      alarms,
      () => env.WEBHOOK_QUEUE,
      settings,
      () => {
        if (othersNeedAlarm() || outbox.hasUnflushed()) return true;
        outbox.saveWatermark(); // the alarm is taken back: what its lapse would have saved
        return false;
      },
    );
    this.c = {
      storage,
      messages,
      outbox,
      rich,
      identities,
      members,
      blocks: new BlockStore(storage), // after the members: its migration moves their blocks
      peerDelivered: new PeerDelivered({
        members,
        users: () => this.env.USER_OBJECT,
        keep: (named, peerId, seq) => markDelivered(this.c, named, peerId, seq),
      }),
      access: new GroupAccess(storage),
      groupOutbox,
      fanout: new Fanout(
        messages,
        members,
        env.USER_OBJECT,
        (userId, error) => this.fanoutRetry.failed(userId, error),
        (userId) => changePump.delivered(userId),
      ),
      changePump,
      alarms,
      history: new HistoryFlush(
        outbox,
        alarms,
        (shard) => shardDatabase(this.env, shard),
        (id) => historyShard.shard(id.conversationId),
        (id) =>
          env.HISTORY_WRITER.get(
            (writerId ??= historyWriterId(env, id.conversationId, this.c.settings().historyWriters)),
          ),
        (id) => void webhookEvents.run(id),
      ),
      historyShard,
      webhookEvents,
      db,
      settings,
      now: () => this.now(),
      users: () => this.env.USER_OBJECT,
      label,
    };
    this.groups = new GroupRunner(this.c);
    try {
      // The stored identity for an instance an old alarm started without its name.
      const named = this.named();
      webhookEvents.start("conversation" in named ? named.conversation.type : null);
    } catch (error) {
      // Settings that do not parse: the Worker refuses every request and says why; events wait.
      logEvent("error", "webhook_events_not_started", { conversationId: label() }, error);
    }
  }

  /**
   * Stores one sender's messages to this conversation, in the order given, and answers each with
   * its seq and id (or its earlier copy's, for a resend). A device's queued sends come in one call
   * and are stored in one transaction, fanned out together and flushed to D1 together.
   */
  async send(inputs: readonly SendInput[]): Promise<SendOutcome> {
    const [first] = inputs;
    if (!first) return { results: [], handedBack: null };
    const refuseAll = (why: Refusal): SendOutcome => ({ results: inputs.map(() => why), handedBack: null });
    const named = this.resolve("write");
    if ("ok" in named) return refuseAll(named);
    const refused = await sendRefusal(this.c, named.conversation, first.senderId);
    if (refused) return refuseAll(refused);
    return storeSends(this.c, named, first.senderId, inputs);
  }

  /** Messages a member may read, each with its status as the reader sees it (read-page.ts). */
  async read(query: ReadQuery): Promise<ReadResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : readPage(this.c, named, query);
  }

  /** A member's read receipt: moves the read watermark and tells the senders of what it covered. */
  async markRead(input: MarkReadInput): Promise<MarkReadResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : markRead(this.c, named, input);
  }

  /**
   * MSG_ACK: the member's devices have the messages up to `seq`. Called only by user objects of the
   * version before delivered marks stayed in the user's object (peer-delivered.ts), while a deploy
   * runs both.
   */
  async markDelivered(userId: string, seq: number): Promise<void> {
    const named = this.resolve("read");
    if (!("ok" in named)) markDelivered(this.c, named, userId, seq);
  }

  /** Revokes a message, for its sender or a group's owner or admins (revoke.ts). */
  async revoke(input: RevokeInput): Promise<RevokeResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : revoke(this.c, named, input);
  }

  /** The admin API removes a message: no sender, role or time check (revoke.ts). */
  async adminRevoke(target: AdminRevokeTarget): Promise<AdminRevokeResult> {
    const named = this.resolve("read");
    if ("ok" in named) return { ok: false, status: 404, message: "conversation not found" };
    return adminRevoke(this.c, named, target);
  }

  /** Adds or takes back a member's reaction on a message (reactions.ts). */
  async react(input: ReactInput): Promise<ReactResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : react(this.c, named, input);
  }

  /** The sender replaces the content of their text message (edits.ts). */
  async edit(input: EditInput): Promise<EditResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : edit(this.c, named, input);
  }

  /** Pins or unpins a message (pins.ts). */
  async pin(input: PinInput): Promise<PinResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : pin(this.c, named, input);
  }

  /** A message and a page of the replies quoting it (threads.ts). */
  async thread(query: ThreadQuery): Promise<ThreadResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : thread(this.c, named, query);
  }

  /** What changed after a change number, for a device that was away (changes.ts). */
  async changes(query: ChangesQuery): Promise<ChangesResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : changes(this.c, named, query);
  }

  /** A message's earlier contents (edits.ts). */
  async editHistory(query: EditHistoryQuery): Promise<EditHistoryResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : editHistory(this.c, named, query);
  }

  /** A message for a member to forward elsewhere (forward-source.ts). */
  async forwardSource(query: MessageQuery): Promise<ForwardSourceResult> {
    const named = this.resolve("read");
    return "ok" in named ? named : forwardSource(this.c, named, query);
  }

  /** Relays a group member's typing status to the other members. Never stored. */
  async typing(userId: string, status: number): Promise<Refusal | null> {
    const named = this.resolve("read");
    return "ok" in named ? named : relayTyping(this.c, named, userId, status);
  }

  /** Runs one group membership or settings change, after the ones before it (group-runner.ts). */
  async groupCommand(command: GroupCommand): Promise<GroupResult> {
    const named = this.resolve(command.op === "create" ? "create" : "write");
    if ("ok" in named) return { ok: false, status: 404, message: "group not found" };
    if (named.conversation.type !== ConversationType.group)
      return { ok: false, status: 400, message: "not a group" };
    return this.groups.run(named.id, command);
  }

  /** A page of the group's ban list or pending join requests, for its owner and admins. */
  async groupAccessList(
    actor: string,
    list: "bans" | "requests",
    offset: number,
    limit: number,
  ): Promise<{ ok: true; bans: Ban[]; requests: JoinRequest[] } | GroupFailure> {
    const named = this.resolve("write");
    if ("ok" in named || named.conversation.type !== ConversationType.group)
      return { ok: false, status: 404, message: "group not found" };
    return listAccess(this.c, actor, list, offset, limit);
  }

  /** A notice for the owner of a system conversation (friend requests and the like). */
  async postNotice(payload: NoticePayload): Promise<void> {
    const named = this.resolve("write");
    if ("ok" in named || named.conversation.type !== ConversationType.system)
      throw new Error(`not a system conversation: ${this.c.label()}`);
    await postSystemNotice(this.c, named.id, named.conversation.ownerId, payload);
  }

  /** Records that `blocker` blocks (or no longer blocks) the other member of this conversation. */
  async setBlocking(blocker: string, blocking: boolean): Promise<void> {
    const named = this.resolve("write");
    if ("ok" in named || named.conversation.type !== ConversationType.single)
      throw new Error(`not a one-to-one conversation: ${this.c.label()}`);
    this.c.blocks.set(blocker, blocking);
  }

  /**
   * The recovery point: whatever a crash left half done resumes here, so the alarm stays armed
   * while any of it is pending: the group's D1 writes, the history flush, fan-out that fell behind.
   */
  override async alarm(): Promise<void> {
    const c = this.c;
    c.alarms.fired();
    const id = this.alarmIdentity();
    if (!id) return; // never held a message: nothing to flush or fan out
    if (c.groupOutbox.pending() > 0) await this.groups.flushWrites();
    await c.history.resume(id);
    await this.fanoutRetry.resume(c.fanout, c.members, c.messages.maxSeq(), id, c.history.notBefore);
    await c.changePump.resume(id);
    await c.webhookEvents.run(id); // last: a slow Queue holds nothing the members wait for
  }

  /** This conversation for a call that reads, writes or creates it (conversation-access.ts). */
  private resolve(use: Use): Named | Refusal {
    return admit(this.c, this.named(), use);
  }

  /**
   * Which conversation this is: its name's; or, in an instance an alarm set before Cloudflare kept
   * names with alarms started without one (calls may reach that same instance), the identity stored
   * on its first write. An object with neither never held anything, and refuses.
   */
  private named(): Named | Refusal {
    if (this.fromName) return this.fromName;
    const stored = this.c.identities.stored();
    return stored
      ? identityFromName(stored.conversationId)
      : refusal(Err.ERR_CONVERSATION_NOT_EXIST, "this conversation object was reached without its name");
  }

  /**
   * The identity the alarm works with: none when the object never held anything; otherwise its
   * name's, or for an alarm set before names were kept (such alarms run without one), the stored one.
   */
  private alarmIdentity(): Identity | null {
    if (!this.c.identities.stored()) return null;
    const named = this.named();
    return "ok" in named ? null : named.id;
  }
}

meterInvocations(ConversationObject, "conversation", {
  send: true,
  read: true,
  markRead: true,
  markDelivered: true,
  revoke: true,
  adminRevoke: true,
  typing: true,
  react: true,
  edit: true,
  pin: true,
  thread: true,
  changes: true,
  editHistory: true,
  forwardSource: true,
  groupCommand: true,
  groupAccessList: true,
  postNotice: true,
  setBlocking: true,
  now: false,
});
