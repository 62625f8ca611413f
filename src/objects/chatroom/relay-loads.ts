// How many listeners each of a room's relays holds, and which relay takes the next one. Relays
// report their absolute count on every join and leave (and answer it to each delivery), so a lost
// report is corrected by the next; an admission counts its listener at once, so joins arriving
// together spread instead of all landing on the relay that looked emptiest.
import { migrate } from "../sql-migrations";

const STEPS = ["CREATE TABLE relay_loads (relay INTEGER PRIMARY KEY, listeners INTEGER NOT NULL)"];

/** Most relays a room opens: 32 × CHATROOM_LISTENERS_PER_RELAY bounds a room before its own cap does. */
export const MAX_RELAYS = 256;

export class RelayLoads {
  private readonly counts = new Map<number, number>();

  constructor(private readonly sql: SqlStorage) {
    migrate(sql, "relay_loads", STEPS);
    for (const row of sql.exec<{ relay: number; listeners: number }>("SELECT * FROM relay_loads"))
      this.counts.set(row.relay, row.listeners);
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** Relays that hold listeners: the ones messages go to. */
  busy(): number[] {
    return [...this.counts].filter(([, n]) => n > 0).map(([relay]) => relay);
  }

  /** Every relay the room ever opened (a close reaches them all). */
  all(): number[] {
    return [...this.counts.keys()];
  }

  listenersOf(relay: number): number {
    return this.counts.get(relay) ?? 0;
  }

  /**
   * The relay for a new listener: the least loaded below `perRelay`, else the next new one; null
   * when the room holds `maxListeners` or every relay it may open is full.
   */
  choose(perRelay: number, maxListeners: number): number | null {
    if (this.total() >= maxListeners) return null;
    let best: number | null = null;
    for (const [relay, n] of this.counts)
      if (n < perRelay && (best === null || n < (this.counts.get(best) ?? 0))) best = relay;
    if (best !== null) return best;
    for (let relay = 0; relay < MAX_RELAYS; relay++) if (!this.counts.has(relay)) return relay;
    return null;
  }

  /** Counts an admitted listener before its relay reports it. */
  admitted(relay: number): void {
    this.set(relay, this.listenersOf(relay) + 1);
  }

  /** A relay's own count, which replaces whatever the room thought. */
  reported(relay: number, listeners: number): void {
    if (this.counts.get(relay) === listeners) return;
    this.set(relay, listeners);
  }

  private set(relay: number, listeners: number): void {
    this.counts.set(relay, listeners);
    this.sql.exec(
      "INSERT INTO relay_loads (relay, listeners) VALUES (?, ?) ON CONFLICT (relay) DO UPDATE SET listeners = excluded.listeners",
      relay,
      listeners,
    );
  }
}
