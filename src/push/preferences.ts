// A user's push preferences, in their UserObject's SQLite (the object that decides each push reads
// them without a D1 call): whether previews show sender and text, the do-not-disturb window, the
// conversations whose previews are hidden, and whether the user has any push device at all (kept by
// the HTTP routes and the consumer, so an object with nothing to push to queues nothing).
import { migrate } from "../objects/sql-migrations";
import { MAX_HIDDEN_PREVIEWS } from "./limits";
import type { QuietHours } from "./quiet-hours";

const SCHEMA = [
  `CREATE TABLE push_prefs (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     previews INTEGER NOT NULL DEFAULT 1,
     quiet_start INTEGER NOT NULL DEFAULT -1,
     quiet_end INTEGER NOT NULL DEFAULT -1,
     quiet_zone TEXT NOT NULL DEFAULT '',
     has_devices INTEGER NOT NULL DEFAULT 0,
     devices_changed_at INTEGER NOT NULL DEFAULT 0
   )`,
  `INSERT INTO push_prefs (id) VALUES (1)`,
  `CREATE TABLE push_hidden_previews (conversation_id TEXT PRIMARY KEY)`,
];

interface PrefsRow extends Record<string, SqlStorageValue> {
  previews: number;
  quiet_start: number;
  quiet_end: number;
  quiet_zone: string;
  has_devices: number;
  devices_changed_at: number;
}

/** What GET /api/push/settings shows and POST sets. */
export interface PushPreferencesJson {
  previews: boolean;
  quietHours: { start: string; end: string; timeZone: string } | null;
}

export class PushPreferences {
  private row: PrefsRow;

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "push_prefs", SCHEMA);
    this.row = this.read();
  }

  private read(): PrefsRow {
    return this.sql
      .exec<PrefsRow>(
        "SELECT previews, quiet_start, quiet_end, quiet_zone, has_devices, devices_changed_at FROM push_prefs WHERE id = 1",
      )
      .one();
  }

  previews(): boolean {
    return this.row.previews === 1;
  }

  quietHours(): QuietHours | null {
    const { quiet_start: start, quiet_end: end, quiet_zone: zone } = this.row;
    return start < 0 || end < 0 ? null : { startMinute: start, endMinute: end, timeZone: zone };
  }

  hasDevices(): boolean {
    return this.row.has_devices === 1;
  }

  /** A registration or unregistration (the HTTP routes) says how many devices the user has. */
  devicesChanged(devices: number, at: number): void {
    this.sql.exec(
      "UPDATE push_prefs SET has_devices = ?, devices_changed_at = ? WHERE id = 1",
      devices > 0 ? 1 : 0,
      at,
    );
    this.row = this.read();
  }

  /**
   * The consumer found no device left when it looked at `checkedAt` (dead tokens, ended sessions):
   * believed unless a registration came after that look.
   */
  noDevicesSeen(checkedAt: number): void {
    if (!this.hasDevices() || checkedAt <= this.row.devices_changed_at) return;
    this.sql.exec("UPDATE push_prefs SET has_devices = 0 WHERE id = 1");
    this.row = this.read();
  }

  set(previews: boolean, quiet: QuietHours | null): void {
    this.sql.exec(
      "UPDATE push_prefs SET previews = ?, quiet_start = ?, quiet_end = ?, quiet_zone = ? WHERE id = 1",
      previews ? 1 : 0,
      quiet?.startMinute ?? -1,
      quiet?.endMinute ?? -1,
      quiet?.timeZone ?? "",
    );
    this.row = this.read();
  }

  previewHidden(conversationId: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM push_hidden_previews WHERE conversation_id = ?", conversationId).toArray()
        .length > 0
    );
  }

  /** Hides or shows one conversation's previews; false when MAX_HIDDEN_PREVIEWS is reached. */
  setPreviewHidden(conversationId: string, hidden: boolean): boolean {
    if (!hidden) {
      this.sql.exec("DELETE FROM push_hidden_previews WHERE conversation_id = ?", conversationId);
      return true;
    }
    const { n } = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_hidden_previews").one();
    if (n >= MAX_HIDDEN_PREVIEWS && !this.previewHidden(conversationId)) return false;
    this.sql.exec(
      "INSERT INTO push_hidden_previews (conversation_id) VALUES (?) ON CONFLICT DO NOTHING",
      conversationId,
    );
    return true;
  }
}
