// Upload limits per uploader (GuardObject): files per minute and bytes per hour, for a signed-in
// user by user id, for an anonymous upload by client address (the SDK's raw upload sends no token).
import type { Settings } from "../config/settings";
import { throttled } from "../auth/throttle";
import { ApiError } from "../http/envelope";
import { HOUR_MS, MINUTE_MS } from "./limits";

export type Uploader = { userId: string } | { address: string };

export interface Reservation {
  /** Bytes this upload may still use within the hourly budget. */
  allowanceBytes: number;
  /** Records what the upload really stored, when that was not known up front. */
  settle: (bytes: number) => Promise<void>;
}

export const quotaExceeded = () => new ApiError(429, "Upload quota exceeded: too many bytes this hour");

/**
 * Counts one upload against the per-minute limit and reserves its bytes against the hourly budget:
 * all of them when the length is declared, otherwise whatever is left, settled once stored.
 */
export async function reserveUpload(
  env: Env,
  settings: Settings,
  uploader: Uploader,
  declaredBytes: number | null,
): Promise<Reservation> {
  const [key, perMinute, bytesPerHour] =
    "userId" in uploader
      ? [`user:${uploader.userId}`, settings.uploadUserPerMinute, settings.uploadUserBytesPerHour]
      : [`address:${uploader.address}`, settings.uploadAnonPerMinute, settings.uploadAnonBytesPerHour];
  const count = await env.GUARD_OBJECT.getByName(`upload-count-${key}`).take(perMinute, MINUTE_MS);
  if (!count.allowed) throw throttled(count, "Too many uploads");
  const bytes = env.GUARD_OBJECT.getByName(`upload-bytes-${key}`);
  if (declaredBytes !== null) {
    const verdict = await bytes.take(bytesPerHour, HOUR_MS, declaredBytes);
    if (!verdict.allowed) throw throttled(verdict, "Upload quota exceeded");
    return { allowanceBytes: declaredBytes, settle: async () => undefined };
  }
  const allowanceBytes = await bytes.remaining(bytesPerHour, HOUR_MS);
  if (allowanceBytes === 0) throw quotaExceeded();
  return {
    allowanceBytes,
    settle: async (stored) => {
      await bytes.hit(bytesPerHour, HOUR_MS, stored);
    },
  };
}
