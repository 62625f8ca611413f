// A room's delivery order: each seq once, in order. Pushes may repeat (a resend, a join's recent
// messages overlapping the first push) or skip (a relay restarted, a frame lost); a skip is filled
// with HISTORY_REQ, and a range the room no longer keeps (it keeps only its newest messages) is
// reported and passed over, so delivery never stalls.
import type { ChatroomMessage } from "./chatroom-shapes.ts";

/** The room's largest HISTORY_REQ page (docs/CHATROOMS.md). */
export const HISTORY_PAGE_MAX = 200;
/** Messages held back waiting for a gap, at most; later ones are fetched again once it is filled. */
export const AHEAD_MAX = 5_000;

export interface HistoryPage {
  messages: ChatroomMessage[];
  hasMore: boolean;
}

export interface TimelineDeps {
  /** HISTORY_REQ: the messages after `afterSeq`, oldest first, at most `limit`. */
  history(afterSeq: number, limit: number): Promise<HistoryPage>;
  /** A contiguous run, in seq order, never delivered before. */
  deliver(messages: ChatroomMessage[]): void;
  /** Seqs `from`..`to` are no longer kept by the room: they are skipped. */
  skipped(from: number, to: number): void;
  /** A fill failed (the socket closed); the next join fills again. */
  failed(error: unknown): void;
}

export class ChatroomTimeline {
  /** The highest seq delivered with nothing missing below; null before the first join. */
  private position: number | null = null;
  /** The highest seq the room is known to have (a join's max_seq, a push, an ack). */
  private known = 0;
  private readonly ahead = new Map<number, ChatroomMessage>();
  private filling = false;
  private readonly deps: TimelineDeps;

  constructor(deps: TimelineDeps) {
    this.deps = deps;
  }

  /** The highest seq delivered with nothing missing below it (0 before anything). */
  get cursor(): number {
    return this.position ?? 0;
  }

  /** Messages held back because something before them is missing. */
  get waiting(): number {
    return this.ahead.size;
  }

  /**
   * A join (CHATROOM_JOINED). The first one starts the timeline at its recent messages (a new
   * listener gets the recent ones, not the whole history); a rejoin resumes from the cursor and
   * fills whatever came meanwhile.
   */
  joined(maxSeq: number, recent: readonly ChatroomMessage[]): void {
    if (this.position === null) {
      const first = recent.reduce((low, m) => Math.min(low, m.seq), Infinity);
      this.position = first === Infinity ? maxSeq : first - 1;
    }
    this.known = Math.max(this.known, maxSeq);
    this.offer(recent);
  }

  /** Messages in any order, repeats included. */
  offer(messages: readonly ChatroomMessage[]): void {
    if (this.position === null) return; // not joined yet: the join's recent messages come first
    for (const m of messages) {
      this.known = Math.max(this.known, m.seq);
      if (m.seq <= this.position || this.ahead.has(m.seq)) continue;
      // Past the bound only the hole's filling brings them (`known` still says they exist).
      if (this.ahead.size < AHEAD_MAX) this.ahead.set(m.seq, m);
    }
    this.drain();
    if (this.cursor < this.known) void this.fill();
  }

  /** Delivers the contiguous run after the cursor. */
  private drain(): void {
    const run: ChatroomMessage[] = [];
    let next = this.cursor + 1;
    for (let m = this.ahead.get(next); m !== undefined; m = this.ahead.get(next)) {
      run.push(m);
      this.ahead.delete(next);
      next++;
    }
    if (run.length === 0) return;
    this.position = next - 1;
    this.deps.deliver(run);
  }

  /** Pages HISTORY_REQ after the cursor until nothing is missing up to what the room is known to have. */
  private async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (this.cursor < this.known) {
        const before = this.cursor;
        const page = await this.deps.history(before, HISTORY_PAGE_MAX);
        // Pushes may have moved the cursor meanwhile; the page is then only offered (repeats drop).
        if (this.cursor === before) {
          const first = page.messages.reduce((low, m) => Math.min(low, m.seq), Infinity);
          // The room answers from its oldest kept message: what lies below it is gone for good, and
          // so is a hole below held messages that the room answered with nothing.
          const resumeAt = Math.min(first, page.messages.length === 0 ? this.lowestAhead() : Infinity);
          if (resumeAt !== Infinity && resumeAt > before + 1) this.skip(before + 1, resumeAt - 1);
        }
        this.offer(page.messages);
        if (this.cursor === before && (!page.hasMore || page.messages.length === 0)) {
          this.known = this.cursor; // the room has nothing more now: do not ask again until it does
          break;
        }
      }
    } catch (error) {
      this.deps.failed(error);
    } finally {
      this.filling = false;
    }
  }

  private skip(from: number, to: number): void {
    this.position = to;
    for (const seq of this.ahead.keys()) if (seq <= to) this.ahead.delete(seq);
    this.deps.skipped(from, to);
    this.drain();
  }

  private lowestAhead(): number {
    let lowest = Infinity;
    for (const seq of this.ahead.keys()) if (seq < lowest) lowest = seq;
    return lowest;
  }
}
