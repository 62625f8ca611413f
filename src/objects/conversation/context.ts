// What a conversation's modules work with: its stores, its fan-out and alarm, and what is read at
// each call (the D1 binding, settings and the clock, which tests swap on a live object). Built once
// by ConversationObject; each entry point hands it to the module that does the work.
import type { Settings } from "../../config/settings";
import type { Database } from "../../db/client";
import type { UserObject } from "../user/user-object";
import type { AlarmClock } from "./alarm-clock";
import type { BlockStore } from "./blocks";
import type { ChangePump } from "./change-pump";
import type { Fanout } from "./fanout";
import type { GroupAccess } from "./group-access";
import type { GroupOutbox } from "./group-outbox";
import type { HistoryFlush } from "./history-flush";
import type { HistoryShardChoice } from "./history-shard";
import type { IdentityStore } from "./identity";
import type { MemberStore } from "./member-store";
import type { MessageStore } from "./message-store";
import type { OutboxStore } from "./outbox-store";
import type { PeerDelivered } from "./peer-delivered";
import type { RichStore } from "./rich-store";
import type { WebhookEvents } from "./webhook-events";

export interface ConversationContext {
  readonly storage: DurableObjectStorage;
  readonly messages: MessageStore;
  readonly outbox: OutboxStore;
  /** Rich messages' reactions, edits, pins and change numbers (docs/RICH-MESSAGES.md). */
  readonly rich: RichStore;
  readonly identities: IdentityStore;
  readonly members: MemberStore;
  readonly blocks: BlockStore;
  /** What a one-to-one peer's devices have, asked when a page needs it (peer-delivered.ts). */
  readonly peerDelivered: PeerDelivered;
  readonly access: GroupAccess;
  readonly groupOutbox: GroupOutbox;
  readonly fanout: Fanout;
  /** Rich changes to the members' objects, like the fan-out (change-pump.ts). */
  readonly changePump: ChangePump;
  readonly alarms: AlarmClock;
  readonly history: HistoryFlush;
  /** Which D1 history shard the copy writes to (chosen once, recorded in D1). */
  readonly historyShard: HistoryShardChoice;
  readonly webhookEvents: WebhookEvents;
  db(): Database;
  settings(): Settings;
  /** The clock revoke windows and mutes are measured with. */
  now(): number;
  users(): DurableObjectNamespace<UserObject>;
  /** The conversation id, for log lines. */
  label(): string;
}
