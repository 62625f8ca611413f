// Rich changes (docs/RICH-MESSAGES.md) travel to the members' UserObjects the way messages do
// (fanout.ts): one pump per member sends what is past that member's pushed change number, read from
// SQLite by the change-number index, one RPC at a time, so the changes made while a call is in flight
// travel together in the next one. A message changed several times goes once, as it is now.
//
// The watermarks live in memory; what is stored is a floor every active member has passed (one row,
// written at most once a second) and, for a member far ahead of it, a row of its own, so a restarted
// object resumes from there. A repeat is harmless: devices compare mod_seq and the inbox only moves
// forward. A failed call is retried from the alarm, which stays armed while a member lags.
import type { UserObject } from "../user/user-object";
import { logEvent } from "../../observability/log";
import { backoff, type AlarmClock } from "./alarm-clock";
import { pb } from "../../protocol/codec";
import { ownBytes, toMessageInfo, type Identity, type StoredMessage } from "../message";
import type { MemberStore, Member } from "./member-store";
import type { MessageStore } from "./message-store";
import type { RichStore } from "./rich-store";
import type { ChangeBatch, MessageUpdate, Pin } from "../rpc";
import { migrate } from "../sql-migrations";
import { MEMBER_IDS_KEPT, namedObjects } from "../object-ids";

/** Most changed messages one call carries. */
export const CHANGE_BATCH = 100;
/** Most encoded bytes (info + ext) one call carries, past its first message. */
export const CHANGE_BATCH_BYTES = 1 << 20;
/** How long moved watermarks wait to be written together. */
const CHANGE_SAVE_MS = 1_000;
/** How far a member may run past the stored floor before it gets a row of its own (what a restart repeats). */
export const CHANGE_ROW_AHEAD = 500;
/**
 * The alarm a change arms (unless one is due sooner): if the process dies with pumps running, it is
 * what restarts them when no other change comes. Once every member has everything it is not armed
 * again, so a burst of changes costs one alarm run.
 */
const CHANGE_ALARM_MS = 5_000;
/** Origins remembered, by change number: the newest ones, all a pump is ever far behind in practice. */
const ORIGINS_KEPT = 1_024;
/** Encoded updates shared by the members' pumps, in bytes: each change is encoded once, not per member. */
const ENCODED_KEPT_BYTES = 4 << 20;

const SCHEMA = [
  // The change number every active member's pump has passed: one row written for a change, where
  // each member's own would be one row per member.
  `CREATE TABLE change_floor (id INTEGER PRIMARY KEY CHECK (id = 0), mod_seq INTEGER NOT NULL)`,
  // A member far ahead of the floor (one member far behind holds it): where a restart resumes it.
  `CREATE TABLE change_marks (user_id TEXT PRIMARY KEY, mod_seq INTEGER NOT NULL)`,
];

export class ChangePump {
  /** Each member's pushed change number, once known (a restart starts from the stored ones). */
  private readonly marks = new Map<string, number>();
  private readonly running = new Set<string>();
  /** Members whose next change is of a message their object does not hold yet: its delivery restarts them. */
  private readonly awaitingDelivery = new Set<string>();
  /** Member objects' ids: a group pushes to the same members again and again. */
  private readonly stubs = namedObjects(
    () => this.users(),
    (userId: string) => userId,
    MEMBER_IDS_KEPT,
  );
  /** The device session that made each recent change: it has its answer, not the push. */
  private readonly origins = new Map<number, string>();
  /** Encoded updates by seq, each at its change number; insertion order is eviction order. */
  private readonly encoded = new Map<number, MessageUpdate>();
  private encodedBytes = 0;
  /** The pinned list at the change number it was read at. */
  private pinsAt: { modSeq: number; pins: Pin[] } | null = null;
  private stored: { floor: number; rows: Map<string, number> } | null = null;
  private readonly unsaved = new Set<string>();
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Calls that failed since every member last had everything. */
  private failures = 0;
  /** The conversation, as the last change named it: what a delivery's restart pushes for. */
  private id: Identity | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly messages: MessageStore,
    private readonly members: MemberStore,
    private readonly rich: RichStore,
    private readonly users: () => DurableObjectNamespace<UserObject>,
    private readonly alarms: AlarmClock,
    private readonly label: () => string,
  ) {
    migrate(storage.sql, "change_pump", SCHEMA);
  }

  /** Changes were committed (their numbers, and the session that made them): starts the idle pumps. */
  changed(id: Identity, modSeqs: readonly number[], originSession: string): void {
    this.id = id;
    if (originSession !== "")
      for (const modSeq of modSeqs) {
        this.origins.set(modSeq, originSession);
        if (this.origins.size > ORIGINS_KEPT) this.origins.delete(this.origins.keys().next().value as number);
      }
    for (const userId of this.members.activeIds()) this.start(userId, id);
    void this.alarms.arm(Date.now() + CHANGE_ALARM_MS);
  }

  /** The fan-out delivered to the member: a change it waited for may go now. */
  delivered(userId: string): void {
    if (this.id && this.awaitingDelivery.delete(userId)) this.start(userId, this.id);
  }

  /** From the alarm: restarts lagging pumps and keeps the alarm armed while any member lags. */
  async resume(id: Identity): Promise<void> {
    this.id = id;
    this.save();
    const lagging = this.lagging();
    if (lagging.length === 0) {
      this.failures = 0;
      return;
    }
    for (const userId of lagging) this.start(userId, id);
    await this.alarms.arm(Date.now() + backoff(this.failures + 1));
  }

  /** Whether an active member lacks changes: stops at the first. */
  anyLagging(): boolean {
    const newest = this.rich.modSeq();
    for (const userId of this.members.activeIds()) if (this.mark(userId) < newest) return true;
    return false;
  }

  private lagging(): string[] {
    const newest = this.rich.modSeq();
    return this.members.activeIds().filter((userId) => this.mark(userId) < newest);
  }

  /** The member's pushed change number: in memory, else where a restart resumes it. */
  private mark(userId: string): number {
    const known = this.marks.get(userId);
    if (known !== undefined) return known;
    const stored = this.storedMarks();
    return Math.max(stored.floor, stored.rows.get(userId) ?? 0);
  }

  private storedMarks(): { floor: number; rows: Map<string, number> } {
    if (!this.stored) {
      const sql = this.storage.sql;
      const floor =
        sql.exec<{ mod_seq: number }>("SELECT mod_seq FROM change_floor WHERE id = 0").toArray()[0]
          ?.mod_seq ?? 0;
      const rows = sql
        .exec<{ user_id: string; mod_seq: number }>("SELECT user_id, mod_seq FROM change_marks")
        .toArray();
      this.stored = { floor, rows: new Map(rows.map((r) => [r.user_id, r.mod_seq])) };
    }
    return this.stored;
  }

  private start(userId: string, id: Identity): void {
    if (this.running.has(userId)) return;
    this.running.add(userId);
    void this.pump(userId, id);
  }

  /**
   * Pushes what the member lacks, one call at a time, until it has everything: after each call it
   * looks again, so changes made meanwhile go in the next call, with no kick needed.
   */
  private async pump(userId: string, id: Identity): Promise<void> {
    try {
      for (;;) {
        const member = this.members.get(userId);
        if (!member || member.leftSeq !== null) break;
        const from = this.mark(userId);
        if (from >= this.rich.modSeq()) break;
        const batch = this.batch(member, from, id);
        if (batch.modSeq <= from) break; // waits for a delivery (awaitingDelivery)
        if (batch.updates.length > 0 || batch.pins)
          await this.stubs.call(userId, (stub) => stub.pushMessageUpdates(batch));
        this.moved(userId, batch.modSeq);
      }
    } catch (error) {
      this.failed(userId, error);
    } finally {
      this.running.delete(userId);
    }
  }

  /**
   * The changes past `from` of the messages the member had (seq >= their first seq), oldest change
   * first, at most CHANGE_BATCH and, past the first, CHANGE_BATCH_BYTES; the pinned list when it
   * changed within them. Read in one synchronous turn, so nothing changes in between. A change of a
   * message the member's object does not hold yet (past its fan-out watermark) waits, and the ones
   * after it, until the delivery: the devices see the message before its change, and a delivery
   * that read the message before the change is followed by the change.
   */
  private batch(member: Member, from: number, id: Identity): ChangeBatch {
    const newest = this.rich.modSeq();
    const updates: MessageUpdate[] = [];
    const origins: string[] = [];
    let bytes = 0;
    let upTo = newest;
    for (const { seq, modSeq } of this.messages.changedSeqsAfter(
      from,
      member.firstSeq,
      this.messages.maxSeq(),
    )) {
      if (seq > member.fanoutSeq) {
        this.awaitingDelivery.add(member.userId);
        upTo = updates.length > 0 ? (updates[updates.length - 1] as MessageUpdate).modSeq : from;
        break;
      }
      const update = this.update(seq, modSeq, id);
      if (!update) continue;
      const size = update.info.byteLength + update.ext.byteLength;
      if (updates.length >= CHANGE_BATCH || (updates.length > 0 && bytes + size > CHANGE_BATCH_BYTES)) {
        upTo = (updates[updates.length - 1] as MessageUpdate).modSeq;
        break;
      }
      bytes += size;
      updates.push(update);
      origins.push(this.origins.get(modSeq) ?? "");
    }
    const pinsModSeq = this.rich.pinsModSeq();
    const pinsChanged = pinsModSeq > from && pinsModSeq <= upTo;
    return {
      conversationId: id.conversationId,
      updates,
      origins,
      pins: pinsChanged
        ? { conversationId: id.conversationId, pins: this.pins(pinsModSeq), modSeq: pinsModSeq }
        : null,
      pinsOrigin: pinsChanged ? (this.origins.get(pinsModSeq) ?? "") : "",
      modSeq: upTo,
    };
  }

  /** The message at `seq` as changed at `modSeq`, encoded once for every member. */
  private update(seq: number, modSeq: number, id: Identity): MessageUpdate | null {
    const cached = this.encoded.get(seq);
    if (cached?.modSeq === modSeq) return cached;
    const message = this.messages.range(seq, seq, 1, id)[0];
    if (!message) return null;
    const update = messageUpdate(id, { message, modSeq });
    if (cached) this.forget(seq, cached);
    this.encoded.set(seq, update);
    this.encodedBytes += update.info.byteLength + update.ext.byteLength;
    for (const [oldSeq, old] of this.encoded) {
      if (this.encodedBytes <= ENCODED_KEPT_BYTES || this.encoded.size <= 1) break;
      this.forget(oldSeq, old);
    }
    return update;
  }

  private forget(seq: number, update: MessageUpdate): void {
    this.encoded.delete(seq);
    this.encodedBytes -= update.info.byteLength + update.ext.byteLength;
  }

  private pins(modSeq: number): Pin[] {
    if (this.pinsAt?.modSeq !== modSeq) this.pinsAt = { modSeq, pins: this.rich.pins() };
    return this.pinsAt.pins;
  }

  private moved(userId: string, modSeq: number): void {
    this.marks.set(userId, Math.max(this.mark(userId), modSeq));
    this.unsaved.add(userId);
    this.saveTimer ??= setTimeout(() => this.save(), CHANGE_SAVE_MS);
  }

  private failed(userId: string, error: unknown): void {
    this.failures++;
    const delay = backoff(this.failures);
    logEvent(
      "error",
      "change_push_failed",
      { conversationId: this.label(), userId, attempt: this.failures, delayMs: delay },
      error,
    );
    void this.alarms.arm(Date.now() + delay);
  }

  /**
   * Writes the floor every active member has passed when it moved, and a member's own row only when
   * it ran more than CHANGE_ROW_AHEAD past both the floor and its stored row. Departed members are
   * forgotten: they get no more changes.
   */
  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.unsaved.size === 0) return;
    const stored = this.storedMarks();
    const active = this.members.activeIds();
    let floor = Infinity;
    for (const userId of active) floor = Math.min(floor, this.mark(userId));
    if (floor !== Infinity && floor > stored.floor) {
      this.storage.sql.exec(
        "INSERT INTO change_floor (id, mod_seq) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET mod_seq = excluded.mod_seq",
        floor,
      );
      stored.floor = floor;
    }
    for (const userId of this.unsaved) {
      const mark = this.marks.get(userId);
      if (mark === undefined) continue;
      if (mark - Math.max(stored.floor, stored.rows.get(userId) ?? 0) > CHANGE_ROW_AHEAD) {
        this.storage.sql.exec(
          "INSERT INTO change_marks (user_id, mod_seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET mod_seq = MAX(mod_seq, excluded.mod_seq)",
          userId,
          mark,
        );
        stored.rows.set(userId, mark);
      }
    }
    this.unsaved.clear();
    if (this.marks.size > active.length) {
      const kept = new Set(active);
      for (const userId of this.marks.keys()) if (!kept.has(userId)) this.marks.delete(userId);
    }
  }
}

/** What a member's object is sent for a change: the SDK's fields and the rich ones apart. */
function messageUpdate(
  id: Identity,
  { message, modSeq }: { message: StoredMessage; modSeq: number },
): MessageUpdate {
  // Its current state as delivered (status "sent"), never a reader's read state.
  const plain: StoredMessage = { ...message, status: undefined, readBy: undefined, readCount: undefined };
  return {
    conversationId: id.conversationId,
    seq: message.seq,
    info: ownBytes(pb.MessageInfo.encode(toMessageInfo(plain)).finish()),
    // In a buffer of its own too: an RPC copies a byte view's whole buffer.
    ext: message.ext ? ownBytes(message.ext) : new Uint8Array(),
    modSeq,
  };
}
