// A conversation's webhook events (src/webhooks/events.ts), put on the webhook Queue once what they
// tell is durable, at least once and in order:
// - after_send: each message once D1 has it (history-flush.ts calls `run` after each copy). No row
//   per message: a watermark, `eventSeq` in `meta`, says which messages the Queue has; it starts at
//   what the conversation held when after_send was turned on, and is dropped when it is off, so
//   turning it on again never replays the time it was off.
// - group_changed: a row in `webhook_outbox`, written in the transaction that applies the change,
//   sent once the group's D1 writes are done (group-runner.ts).
// A Queue that fails backs off from the alarm (1 s doubling to 1 min) and holds nothing else: sends,
// fan-out and the D1 copy go on, and the events follow when the Queue is back.
import type { Settings } from "../../config/settings";
import { logEvent } from "../../observability/log";
import {
  afterSendEvent,
  enqueueEvents,
  isConversationOfPeople,
  wants,
  type WebhookEvent,
} from "../../webhooks/events";
import type { Identity } from "../message";
import { migrate } from "../sql-migrations";
import { backoff, type AlarmClock } from "./alarm-clock";
import type { GroupOutbox } from "./group-outbox";
import type { MessageStore } from "./message-store";
import type { OutboxStore } from "./outbox-store";

const SCHEMA = [`CREATE TABLE webhook_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)`];

/** Events one Queue call carries at most (sendBatch takes 100). */
const EVENTS_PER_BATCH = 100;
/** Batches one run sends before it leaves the rest to the alarm. */
const BATCHES_PER_RUN = 20;
/**
 * Group events kept while the Queue is down; past it the oldest go, with an error line. A change
 * needs an owner's or admin's command, so this is weeks of a busy group's changes.
 */
const MAX_GROUP_EVENTS = 10_000;

/** A group change before its id: the row id is the event's, given when it is sent. */
export type GroupChange = Omit<WebhookEvent, "eventID">;

export class WebhookEvents {
  private readonly sql: SqlStorage;
  /** The newest message the Queue has (after_send); null while after_send is off here. */
  private eventSeq: number | null = null;
  private failures = 0;
  private notBefore = 0;
  private running: Promise<void> | null = null;
  /** Whether webhook_outbox holds rows; null until read. */
  private hasGroupEvents: boolean | null = null;

  constructor(
    storage: DurableObjectStorage,
    private readonly messages: MessageStore,
    private readonly outbox: OutboxStore,
    private readonly groupOutbox: GroupOutbox,
    private readonly alarms: AlarmClock,
    private readonly queue: () => Queue,
    private readonly settings: () => Settings,
    /** Whether anything else still needs the alarm (the D1 copy included). */
    private readonly alarmStillNeeded: () => boolean,
  ) {
    this.sql = storage.sql;
    migrate(this.sql, "webhook_outbox", SCHEMA);
  }

  /**
   * Reads or starts the after_send watermark for this conversation (`type` from its name, null when
   * it has none); a conversation of the server's notices sends none. Called once, at construction.
   */
  start(type: number | null): void {
    const on = type !== null && isConversationOfPeople(type) && wants(this.settings().webhook, "after_send");
    const stored = this.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'eventSeq'")
      .toArray()[0]?.value;
    if (!on) {
      this.eventSeq = null;
      if (stored !== undefined) this.sql.exec("DELETE FROM meta WHERE key = 'eventSeq'");
      return;
    }
    if (stored !== undefined) {
      this.eventSeq = Number(stored);
      return;
    }
    this.eventSeq = this.messages.maxSeq();
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('eventSeq', ?)", String(this.eventSeq));
  }

  /** Records a group change for the Queue, in the caller's transaction; nothing if nobody wants it. */
  addGroupChange(change: GroupChange): void {
    if (!wants(this.settings().webhook, "group_changed")) return;
    this.sql.exec("INSERT INTO webhook_outbox (event) VALUES (?)", JSON.stringify(change));
    this.hasGroupEvents = null; // the caller's transaction may yet roll back: read it again
    const dropped = this.sql.exec(
      "DELETE FROM webhook_outbox WHERE id <= (SELECT MAX(id) FROM webhook_outbox) - ?",
      MAX_GROUP_EVENTS,
    ).rowsWritten;
    if (dropped > 0) logEvent("error", "webhook_events_dropped", { reason: "group_changed", count: dropped });
  }

  /** Whether the Queue still lacks events. */
  pending(): boolean {
    return this.messagesPending() || this.groupEventsPending();
  }

  private messagesPending(): boolean {
    return this.eventSeq !== null && this.eventSeq < this.outbox.copiedUpTo();
  }

  /** Read once, then kept in step: asked after every D1 copy, and almost always false. */
  private groupEventsPending(): boolean {
    this.hasGroupEvents ??= this.sql.exec("SELECT 1 FROM webhook_outbox LIMIT 1").toArray().length > 0;
    return this.hasGroupEvents;
  }

  /** Sends what the Queue lacks; a call while a run is under way joins it. Never throws. */
  async run(id: Identity): Promise<void> {
    if (!this.pending()) return;
    // Backing off: the alarm comes back for it (set here too: an alarm that ran for something else
    // meanwhile took the one the failure set).
    if (this.failures > 0 && Date.now() < this.notBefore) return this.alarms.arm(this.notBefore);
    this.running ??= this.send(id).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async send(id: Identity): Promise<void> {
    try {
      for (let round = 0; this.pending(); round++) {
        if (round >= BATCHES_PER_RUN) {
          await this.alarms.arm(Date.now());
          return;
        }
        // Group events once D1 has the group as they tell it; messages once D1 has them.
        const sentGroup = this.groupOutbox.pending() === 0 && (await this.sendGroupEvents(id));
        const sentMessages = await this.sendMessageEvents(id);
        if (!sentGroup && !sentMessages) break; // what is left waits for D1
      }
      this.failures = 0;
      this.notBefore = 0;
      if (!this.alarmStillNeeded() && !this.pending()) await this.alarms.disarm();
    } catch (error) {
      this.failures++;
      const delay = backoff(this.failures);
      this.notBefore = Date.now() + delay;
      logEvent(
        "error",
        "webhook_enqueue_failed",
        { conversationId: id.conversationId, attempt: this.failures, delayMs: delay },
        error,
      );
      await this.alarms.arm(this.notBefore);
    }
  }

  private async sendGroupEvents(id: Identity): Promise<boolean> {
    const rows = this.sql
      .exec<{ id: number; event: string }>(
        "SELECT id, event FROM webhook_outbox ORDER BY id LIMIT ?",
        EVENTS_PER_BATCH,
      )
      .toArray();
    if (rows.length === 0) return false;
    const events = rows.map((row) => ({
      ...(JSON.parse(row.event) as GroupChange),
      eventID: `group_changed:${id.groupId}:${row.id}`,
    }));
    await enqueueEvents(this.queue(), events);
    this.sql.exec("DELETE FROM webhook_outbox WHERE id <= ?", rows[rows.length - 1]!.id);
    this.hasGroupEvents = null;
    return true;
  }

  private async sendMessageEvents(id: Identity): Promise<boolean> {
    if (this.eventSeq === null) return false;
    const upTo = this.outbox.copiedUpTo();
    if (this.eventSeq >= upTo) return false;
    const batch = this.messages.range(this.eventSeq + 1, upTo, EVENTS_PER_BATCH, id);
    if (batch.length === 0) return false;
    await enqueueEvents(this.queue(), batch.map(afterSendEvent));
    this.eventSeq = batch[batch.length - 1]!.seq;
    this.sql.exec("UPDATE meta SET value = ? WHERE key = 'eventSeq'", String(this.eventSeq));
    return true;
  }
}
