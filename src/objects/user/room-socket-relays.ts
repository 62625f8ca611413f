// The user's object -> the relays its room sockets are on (room-sockets.ts): closing the sockets of
// ended sessions, and finding sockets whose close was never reported. Only relays listed are called,
// at most MAX_ROOM_SOCKETS_PER_USER of them.
import { logEvent } from "../../observability/log";
import type { SessionEnd } from "./kick-out";
import type { RoomSocketEntry, RoomSockets } from "./room-sockets";

/** Placed entries by relay name. */
function byRelay(entries: readonly RoomSocketEntry[]): Map<string, RoomSocketEntry[]> {
  const relays = new Map<string, RoomSocketEntry[]>();
  for (const entry of entries) {
    if (entry.relay === null) continue;
    const list = relays.get(entry.relay) ?? [];
    list.push(entry);
    relays.set(entry.relay, list);
  }
  return relays;
}

/**
 * Closes the room sockets of the sessions `ended` names (every socket of the user when `all`). The
 * entries go first, so a join still on its way finds its reservation gone and is refused. A relay
 * that cannot be reached is logged: its socket is refused at its next send (speaker-check.ts).
 */
export async function endRoomSockets(
  env: Env,
  registry: RoomSockets,
  userId: string,
  ended: (sessionId: string) => boolean,
  all: boolean,
  why: SessionEnd,
): Promise<void> {
  const matching = registry.entries().filter((entry) => ended(entry.sessionId));
  if (matching.length === 0) return;
  registry.drop(matching.map((entry) => entry.socketId));
  const calls = [...byRelay(matching)].map(async ([relay, entries]) => {
    const sessionIds = all ? null : [...new Set(entries.map((entry) => entry.sessionId))];
    try {
      await env.CHATROOM_RELAY.getByName(relay).endSessions(userId, sessionIds, why);
    } catch (error) {
      logEvent("error", "room_sockets_close_failed", { userId, reason: `relay ${relay}` }, error);
    }
  });
  await Promise.all(calls);
}

/**
 * Asks each listed relay which of the user's sockets it still holds and forgets the others (a relay
 * restarted, or a close was not reported). A relay that does not answer keeps its entries.
 */
export async function forgetClosedRoomSockets(
  env: Env,
  registry: RoomSockets,
  userId: string,
): Promise<void> {
  const calls = [...byRelay(registry.entries())].map(async ([relay, entries]) => {
    const listed = entries.map((entry) => entry.socketId);
    try {
      const held = new Set(await env.CHATROOM_RELAY.getByName(relay).heldSockets(userId, listed));
      registry.drop(listed.filter((socketId) => !held.has(socketId)));
    } catch (error) {
      logEvent("warn", "room_sockets_check_failed", { userId, reason: `relay ${relay}` }, error);
    }
  });
  await Promise.all(calls);
}
