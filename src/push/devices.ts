// Push tokens in D1 (`push_devices`, schema/tables.ts) and the consumer's record of what it sent or
// is sending (`push_deliveries`). A token belongs to a login session: only tokens of sessions that
// still stand are pushed to, so logout, a password change, a ban or an admin's end of a session stops them
// even before the row is deleted.
import { ulid } from "ulid";
import { CLAIM_TIMEOUT_MS, MAX_DEVICES_PER_USER, DELIVERY_RECORD_TTL_MS } from "./limits";

export const PushProvider = { apns: "apns", fcm: "fcm", webhook: "webhook" } as const;
export type PushProvider = (typeof PushProvider)[keyof typeof PushProvider];

export interface PushDevice {
  id: string;
  userId: string;
  sessionId: string;
  provider: PushProvider;
  token: string;
  appId: string;
  sandbox: boolean;
  updatedAt: number;
}

interface DeviceRow {
  id: string;
  user_id: string;
  session_id: string;
  provider: string;
  token: string;
  app_id: string;
  sandbox: number;
  updated_at: number;
}

const isProvider = (value: string): value is PushProvider =>
  Object.values<string>(PushProvider).includes(value);

function toDevice(row: DeviceRow): PushDevice | null {
  if (!isProvider(row.provider)) return null;
  return {
    id: row.id,
    userId: row.user_id,
    sessionId: row.session_id,
    provider: row.provider,
    token: row.token,
    appId: row.app_id,
    sandbox: row.sandbox === 1,
    updatedAt: row.updated_at,
  };
}

const COLUMNS = "d.id, d.user_id, d.session_id, d.provider, d.token, d.app_id, d.sandbox, d.updated_at";

export interface Registration {
  provider: PushProvider;
  token: string;
  appId: string;
  sandbox: boolean;
}

/**
 * Registers the session's token, in one batch: the session's previous token goes (one token per
 * login session), the token moves here if another user or session had it (a phone changes hands),
 * and the user's devices past MAX_DEVICES_PER_USER go, least recently updated first. Returns the
 * device's id and how many devices the user has now.
 */
export async function registerDevice(
  db: D1Database,
  userId: string,
  sessionId: string,
  registration: Registration,
): Promise<{ deviceId: string; devices: number }> {
  const now = Date.now();
  const id = ulid();
  const results = await db.batch([
    db
      .prepare("DELETE FROM push_devices WHERE session_id = ? AND NOT (provider = ? AND token = ?)")
      .bind(sessionId, registration.provider, registration.token),
    db
      .prepare(
        `INSERT INTO push_devices (id, user_id, session_id, provider, token, app_id, sandbox, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (provider, token) DO UPDATE SET
           user_id = excluded.user_id, session_id = excluded.session_id, app_id = excluded.app_id,
           sandbox = excluded.sandbox, updated_at = excluded.updated_at
         RETURNING id`,
      )
      .bind(
        id,
        userId,
        sessionId,
        registration.provider,
        registration.token,
        registration.appId,
        registration.sandbox ? 1 : 0,
        now,
        now,
      ),
    db
      .prepare(
        `DELETE FROM push_devices WHERE user_id = ? AND id NOT IN (
           SELECT id FROM push_devices WHERE user_id = ? ORDER BY updated_at DESC, rowid DESC LIMIT ?)`,
      )
      .bind(userId, userId, MAX_DEVICES_PER_USER),
    db.prepare("SELECT COUNT(*) AS n FROM push_devices WHERE user_id = ?").bind(userId),
  ]);
  const deviceId = (results[1]?.results[0] as { id: string } | undefined)?.id ?? id;
  const devices = (results[3]?.results[0] as { n: number } | undefined)?.n ?? 0;
  return { deviceId, devices };
}

/** Removes the tokens of these sessions (logout); how many devices the user has left. */
export async function unregisterSessions(
  db: D1Database,
  userId: string,
  sessionIds: readonly string[] | null,
): Promise<number> {
  const statements =
    sessionIds === null
      ? [db.prepare("DELETE FROM push_devices WHERE user_id = ?").bind(userId)]
      : sessionIds.map((sessionId) =>
          db.prepare("DELETE FROM push_devices WHERE user_id = ? AND session_id = ?").bind(userId, sessionId),
        );
  const results = await db.batch([
    ...statements,
    db.prepare("SELECT COUNT(*) AS n FROM push_devices WHERE user_id = ?").bind(userId),
  ]);
  return (results[results.length - 1]?.results[0] as { n: number } | undefined)?.n ?? 0;
}

/** The user's devices, newest first (the HTTP list). */
export async function listDevices(db: D1Database, userId: string): Promise<PushDevice[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM push_devices d WHERE d.user_id = ? ORDER BY d.updated_at DESC`)
    .bind(userId)
    .all<DeviceRow>();
  return results.flatMap((row) => toDevice(row) ?? []);
}

/** The devices to push to: those whose login session still stands. */
export async function activeDevices(db: D1Database, userId: string): Promise<PushDevice[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM push_devices d JOIN sessions s ON s.id = d.session_id
       WHERE d.user_id = ? AND s.user_id = d.user_id AND s.revoked_at IS NULL
       ORDER BY d.updated_at DESC LIMIT ?`,
    )
    .bind(userId, MAX_DEVICES_PER_USER)
    .all<DeviceRow>();
  return results.flatMap((row) => toDevice(row) ?? []);
}

/** A token the provider called dead. Matched by token too: it may have been registered anew since. */
export async function deleteDevice(db: D1Database, device: PushDevice): Promise<void> {
  await db
    .prepare("DELETE FROM push_devices WHERE id = ? AND token = ? AND updated_at = ?")
    .bind(device.id, device.token, device.updatedAt)
    .run();
}

/** The devices this job has reached (sent, not merely claimed). */
export async function deliveredDevices(db: D1Database, jobId: string): Promise<Set<string>> {
  const { results } = await db
    .prepare("SELECT device_id FROM push_deliveries WHERE job_id = ? AND claimed_at IS NULL")
    .bind(jobId)
    .all<{ device_id: string }>();
  return new Set(results.map((row) => row.device_id));
}

/**
 * Claims the job's send to this device, just before it: null when claimed (no copy of the job has
 * it, sent or being sent, or another copy's claim is older than CLAIM_TIMEOUT_MS: that consumer died
 * mid-send). Otherwise when the other copy's claim lapses (0: the device has it already). Two
 * copies of a job (a Queues duplicate, a redelivery while the first is handled) so never both send
 * to one device.
 */
export async function claimDelivery(
  db: D1Database,
  jobId: string,
  deviceId: string,
  now: number,
): Promise<number | null> {
  const result = await db
    .prepare(
      `INSERT INTO push_deliveries (job_id, device_id, sent_at, claimed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (job_id, device_id) DO UPDATE SET sent_at = excluded.sent_at, claimed_at = excluded.claimed_at
       WHERE push_deliveries.claimed_at IS NOT NULL AND push_deliveries.claimed_at < ?`,
    )
    .bind(jobId, deviceId, now, now, now - CLAIM_TIMEOUT_MS)
    .run();
  if (result.meta.changes > 0) return null;
  const held = await db
    .prepare("SELECT claimed_at FROM push_deliveries WHERE job_id = ? AND device_id = ?")
    .bind(jobId, deviceId)
    .first<{ claimed_at: number | null }>();
  return held?.claimed_at == null ? 0 : held.claimed_at + CLAIM_TIMEOUT_MS;
}

/** The provider took it (or refused it for good): the claim becomes the record that it is done. */
export async function recordDelivery(db: D1Database, jobId: string, deviceId: string): Promise<void> {
  await db
    .prepare("UPDATE push_deliveries SET claimed_at = NULL, sent_at = ? WHERE job_id = ? AND device_id = ?")
    .bind(Date.now(), jobId, deviceId)
    .run();
}

/** Not sent (worth another try, provider off, an error): another copy or try may claim it at once. */
export async function releaseClaim(
  db: D1Database,
  jobId: string,
  deviceId: string,
  claimedAt: number,
): Promise<void> {
  await db
    .prepare("DELETE FROM push_deliveries WHERE job_id = ? AND device_id = ? AND claimed_at = ?")
    .bind(jobId, deviceId, claimedAt)
    .run();
}

/** Forgets delivery records older than any retry of their job could be. */
export async function pruneDeliveries(db: D1Database, now: number): Promise<void> {
  await db
    .prepare("DELETE FROM push_deliveries WHERE sent_at < ?")
    .bind(now - DELIVERY_RECORD_TTL_MS)
    .run();
}
