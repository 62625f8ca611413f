// The conversation's own SQLite, members side: who is in it, from which seq each one sees it (and
// up to which seq once gone), roles and mutes for groups, each member's read, delivered and fan-out
// watermarks, and the group's own settings. The ConversationObject is the single writer of these.
// (One-to-one blocks, once kept in group_state too, have their own table: blocks.ts.)
import { GroupStatus } from "../../../schema/tables";
import { GatheredWrite } from "../../lib/gathered-write";
import { migrate } from "../sql-migrations";
import { JOIN_MODES, JoinMode } from "./group-access";
import { readStatus, type ReadStatus } from "./read-status";

const SCHEMA = [
  // first_seq: the first seq the member may read; left_seq: the last, once they left or were kicked.
  `CREATE TABLE members (
     user_id TEXT PRIMARY KEY,
     role INTEGER NOT NULL DEFAULT 0,
     first_seq INTEGER NOT NULL DEFAULT 1,
     left_seq INTEGER,
     muted_until INTEGER NOT NULL DEFAULT 0,
     fanout_seq INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0,
     delivered_seq INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE INDEX members_active ON members (left_seq, role)`,
  `CREATE TABLE group_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // Group read status counts members by read watermark (read-status.ts).
  `CREATE INDEX members_read ON members (read_seq, user_id)`,
  // The seq every member's fan-out has passed (each departed one's up to where they left): one row
  // written for a message, where each member's own fanout_seq would be one row per member.
  `CREATE TABLE fanout_floor (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL)`,
];

/**
 * While messages flow, moved fan-out watermarks are looked at (and written when far enough ahead,
 * writeFanout) at most this often; a quiet conversation's at the end of the turn that moved them
 * (lib/gathered-write.ts).
 */
const FANOUT_SAVE_MS = 100;

/**
 * How far a member's fan-out watermark may run ahead of the stored floor without a row of its own:
 * a restart repeats at most this many messages to it (one delivery call; FANOUT_BATCH, fanout.ts).
 */
export const FANOUT_ROW_AHEAD = 200;

/** Group roles (the SDK's numbering, http-api.md §3.4). */
export const Role = { member: 0, admin: 1, owner: 2 } as const;

/** A group's status (the SDK's numbering, http-api.md §3.3; D1's groups.status too). */

export interface Member {
  userId: string;
  role: number;
  firstSeq: number;
  leftSeq: number | null;
  mutedUntil: number;
  fanoutSeq: number;
  readSeq: number;
  deliveredSeq: number;
}

interface MemberRow extends Record<string, SqlStorageValue> {
  user_id: string;
  role: number;
  first_seq: number;
  left_seq: number | null;
  muted_until: number;
  fanout_seq: number;
  read_seq: number;
  delivered_seq: number;
}

/** A stored row; its fan-out watermark at least the stored floor (up to where a departed one left). */
const toMember = (r: MemberRow, floor: number): Member => ({
  userId: r.user_id,
  role: r.role,
  firstSeq: r.first_seq,
  leftSeq: r.left_seq,
  mutedUntil: r.muted_until,
  fanoutSeq: Math.max(r.fanout_seq, Math.min(floor, r.left_seq ?? Infinity)),
  readSeq: r.read_seq,
  deliveredSeq: r.delivered_seq,
});

/** Whether a member's object lacks messages up to `maxSeq` (a departed one's, up to where they left). */
const lags = (m: Member, maxSeq: number) => m.fanoutSeq < Math.min(maxSeq, m.leftSeq ?? maxSeq);

export interface GroupState {
  status: GroupStatus;
  muteAll: boolean;
  joinMode: JoinMode;
}

export class MemberStore {
  private readonly sql: SqlStorage;
  /**
   * Every member row, read once and then kept in step by the write methods below (the only
   * writers): a send checks membership, mutes and the member list without a query.
   */
  private cache: Map<string, Member> | null = null;
  private groupStateCache: GroupState | null = null;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "members", SCHEMA);
  }

  private rows(): Map<string, Member> {
    if (!this.cache) {
      this.savedFloor =
        this.sql.exec<{ seq: number }>("SELECT seq FROM fanout_floor WHERE id = 0").toArray()[0]?.seq ?? 0;
      const floor = this.savedFloor;
      const rows = this.sql.exec<MemberRow>("SELECT * FROM members").toArray();
      this.cache = new Map(rows.map((row) => [row.user_id, toMember(row, floor)]));
      this.savedRows = new Map(rows.map((row) => [row.user_id, row.fanout_seq]));
      this.activeCache = null;
    }
    return this.cache;
  }

  get(userId: string): Member | null {
    return this.rows().get(userId) ?? null;
  }

  /** Members who still receive new messages. */
  active(): Member[] {
    return this.activeIds().flatMap((id) => this.rows().get(id) ?? []);
  }

  /**
   * The ids of the members who still receive new messages, kept between membership changes: every
   * send, receipt and read page asks, and a 2,000-member group would be filtered each time.
   */
  activeIds(): readonly string[] {
    this.activeCache ??= [...this.rows().values()].filter((m) => m.leftSeq === null).map((m) => m.userId);
    return this.activeCache;
  }

  activeCount(): number {
    return this.activeIds().length;
  }

  /** Set by activeIds(), dropped by the two changes of who is active: join() and leave(). */
  private activeCache: string[] | null = null;

  isEmpty(): boolean {
    return this.rows().size === 0;
  }

  /**
   * Adds a member (or brings a departed one back) who sees the conversation from `firstSeq` on. A
   * mute outlives leaving and coming back.
   */
  join(userId: string, role: number, firstSeq: number): void {
    this.sql.exec(
      `INSERT INTO members (user_id, role, first_seq, fanout_seq, read_seq, delivered_seq) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, first_seq = excluded.first_seq, left_seq = NULL,
         fanout_seq = excluded.fanout_seq,
         read_seq = MAX(read_seq, excluded.read_seq), delivered_seq = MAX(delivered_seq, excluded.delivered_seq)`,
      userId,
      role,
      firstSeq,
      firstSeq - 1,
      firstSeq - 1,
      firstSeq - 1,
    );
    const before = this.get(userId);
    this.activeCache = null;
    this.savedRows.set(userId, firstSeq - 1);
    this.rows().set(userId, {
      userId,
      role,
      firstSeq,
      leftSeq: null,
      mutedUntil: before?.mutedUntil ?? 0,
      fanoutSeq: firstSeq - 1,
      readSeq: Math.max(before?.readSeq ?? 0, firstSeq - 1),
      deliveredSeq: Math.max(before?.deliveredSeq ?? 0, firstSeq - 1),
    });
  }

  /** Applies a change to a cached row (the SQL above it made the same change on disk). */
  private update(userId: string, change: (m: Member) => Partial<Member>): void {
    const member = this.get(userId);
    if (member) this.rows().set(userId, { ...member, ...change(member) });
  }

  /** The member stops receiving after `lastSeq` (the notice of their leaving). */
  leave(userId: string, lastSeq: number): void {
    this.sql.exec("UPDATE members SET left_seq = ?, role = 0 WHERE user_id = ?", lastSeq, userId);
    this.update(userId, () => ({ leftSeq: lastSeq, role: 0 }));
    this.activeCache = null;
  }

  setRole(userId: string, role: number): void {
    this.sql.exec("UPDATE members SET role = ? WHERE user_id = ?", role, userId);
    this.update(userId, () => ({ role }));
  }

  setMutedUntil(userId: string, until: number): void {
    this.sql.exec("UPDATE members SET muted_until = ? WHERE user_id = ?", until, userId);
    this.update(userId, () => ({ mutedUntil: until }));
  }

  /** Moves the read watermark forward (never back, never past `cap`); returns the old one. */
  advanceRead(userId: string, seq: number, cap: number): number {
    const before = this.get(userId)?.readSeq ?? 0;
    const target = Math.min(seq, cap);
    this.sql.exec(
      "UPDATE members SET read_seq = MAX(read_seq, ?), delivered_seq = MAX(delivered_seq, ?) WHERE user_id = ?",
      target,
      target,
      userId,
    );
    this.update(userId, (m) => ({
      readSeq: Math.max(m.readSeq, target),
      deliveredSeq: Math.max(m.deliveredSeq, target),
    }));
    return before;
  }

  advanceDelivered(userId: string, seq: number, cap: number): void {
    const target = Math.min(seq, cap);
    if ((this.get(userId)?.deliveredSeq ?? Infinity) >= target) return; // nothing to move
    this.sql.exec(
      "UPDATE members SET delivered_seq = MAX(delivered_seq, ?) WHERE user_id = ?",
      target,
      userId,
    );
    this.update(userId, (m) => ({ deliveredSeq: Math.max(m.deliveredSeq, target) }));
  }

  /**
   * Moves a fan-out watermark in memory; it is written with the others that moved meanwhile, once
   * it ran far enough ahead of what is stored (writeFanout), and in any case by the alarm's run
   * (saveFanout). Losing unwritten moves to a crash only repeats deliveries, which the inboxes ignore.
   */
  setFanoutSeq(userId: string, seq: number): void {
    this.update(userId, (m) => ({ fanoutSeq: Math.max(m.fanoutSeq, seq) }));
    this.unsavedFanout.add(userId);
    // Until this member runs FANOUT_ROW_AHEAD past the stored floor a save writes nothing for it:
    // neither its own row nor the floor (never above any member's watermark) is due. So most moves
    // (every message of a one-to-one that is not far behind) set no timer; the alarm's saveFanout
    // writes the rest.
    if (seq - this.savedFloor > FANOUT_ROW_AHEAD) this.fanoutWrite.request();
  }

  private readonly unsavedFanout = new Set<string>();
  private readonly fanoutWrite = new GatheredWrite(FANOUT_SAVE_MS, () => this.writeFanout(false));
  /** The floor as stored (fanout_floor), read with the rows. */
  private savedFloor = 0;
  /** Whether the floor in memory may be past the stored one (a write left it for later). */
  private floorUnsaved = false;
  /** Each member's own fanout_seq as stored, read with the rows: what a restart resumes it from. */
  private savedRows = new Map<string, number>();

  /**
   * Writes every fan-out watermark that moved (the alarm's run, and before the alarm is taken back):
   * after it a restart repeats no delivery.
   */
  saveFanout(): void {
    this.fanoutWrite.cancel();
    this.writeFanout(true);
  }

  /**
   * Writes the fan-out watermarks that moved: the floor every member has passed as one row (a
   * group's message moves every member's, usually together), and a member's own row when it ran
   * more than FANOUT_ROW_AHEAD past both that floor and its own stored row (one member far behind
   * holds the floor: the others then write a row once per FANOUT_ROW_AHEAD messages, not at every
   * save). Unless `all`, the floor too is written only once it ran FANOUT_ROW_AHEAD past the stored
   * one: a quiet conversation's message then costs no write of its own (the alarm that guards its
   * copy saves the floor when it lapses, history-flush.ts). A crash loses at most that lead:
   * repeated deliveries, at most one call's worth per member, which the inboxes ignore.
   */
  private writeFanout(all: boolean): void {
    if (this.unsavedFanout.size === 0 && !this.floorUnsaved) return;
    const floor = this.fanoutFloor();
    if (floor > this.savedFloor && (all || floor - this.savedFloor > FANOUT_ROW_AHEAD)) {
      this.sql.exec(
        "INSERT INTO fanout_floor (id, seq) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
        floor,
      );
      this.savedFloor = floor;
    }
    this.floorUnsaved = floor > this.savedFloor;
    for (const userId of this.unsavedFanout) {
      const seq = this.get(userId)?.fanoutSeq;
      if (seq === undefined) continue;
      const resumesFrom = Math.max(this.savedFloor, this.savedRows.get(userId) ?? 0);
      if (seq - resumesFrom > FANOUT_ROW_AHEAD) {
        this.sql.exec("UPDATE members SET fanout_seq = MAX(fanout_seq, ?) WHERE user_id = ?", seq, userId);
        this.savedRows.set(userId, seq);
      }
    }
    this.unsavedFanout.clear();
  }

  /**
   * The lowest fan-out watermark of the members still owed messages (active ones, and departed
   * ones short of where they left): every member has everything up to it. One pass, per save.
   */
  private fanoutFloor(): number {
    let floor = Infinity;
    for (const m of this.rows().values()) {
      if (m.leftSeq === null || m.fanoutSeq < m.leftSeq) floor = Math.min(floor, m.fanoutSeq);
    }
    return floor === Infinity ? this.savedFloor : floor;
  }

  /** Members (departed ones included, up to where they left) whose UserObject lacks messages. */
  lagging(maxSeq: number): string[] {
    return [...this.rows().values()].filter((m) => lags(m, maxSeq)).map((m) => m.userId);
  }

  /** Whether any member lacks messages: stops at the first (while a fan-out runs, the first looked at). */
  anyLagging(maxSeq: number): boolean {
    for (const m of this.rows().values()) if (lags(m, maxSeq)) return true;
    return false;
  }

  /** Per seq, who (active or not, `exclude` left out) has read up to it: one indexed pass. */
  readStatus(seqs: readonly number[], exclude: string, named: boolean): Map<number, ReadStatus> {
    const readSeq = this.get(exclude)?.readSeq ?? -1;
    return readStatus(this.sql, seqs, { userId: exclude, readSeq }, named);
  }

  /** The group's status and settings (a copy). */
  groupState(): GroupState {
    return { ...this.state() };
  }

  private state(): GroupState {
    if (!this.groupStateCache) {
      const rows = this.sql
        .exec<{ key: string; value: string }>("SELECT key, value FROM group_state")
        .toArray();
      const state = new Map(rows.map((r) => [r.key, r.value]));
      this.groupStateCache = {
        status: state.get("status") === "1" ? GroupStatus.dismissed : GroupStatus.active,
        muteAll: state.get("muteAll") === "1",
        joinMode: JOIN_MODES.find((m) => m === state.get("joinMode")) ?? JoinMode.open,
      };
    }
    return this.groupStateCache;
  }

  setGroupState(patch: Partial<GroupState>): void {
    for (const [key, value] of Object.entries(patch)) {
      const text = typeof value === "boolean" ? (value ? "1" : "0") : String(value);
      this.sql.exec(
        "INSERT INTO group_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        key,
        text,
      );
    }
    Object.assign(this.state(), patch);
  }
}
