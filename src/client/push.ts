// Offline push registration (POST /api/push/devices, docs/API.md "Push"; docs/PUSH.md): the token a
// device got from APNs or FCM (or the team's own push service), tied to this login session, and the
// user's push settings, read field by field as the other shapes are.
import { boolean, isObject, ShapeError, string, type JsonObject } from "./json-shapes.ts";

export type PushProvider = "apns" | "fcm" | "webhook";

export interface PushTokenRegistration {
  provider: PushProvider;
  /** The device token APNs gave the app (hex), the FCM registration token, or the team's own. */
  token: string;
  /** APNs: the app's bundle id (the apns-topic); FCM: the Firebase project id; webhook: the app's name. */
  appId: string;
  /** APNs only: a development build (served by the sandbox endpoint). */
  sandbox?: boolean;
}

export interface QuietHours {
  /** "22:00": local time in `timeZone`. */
  start: string;
  end: string;
  /** An IANA time zone, e.g. "Asia/Shanghai". */
  timeZone: string;
}

export interface PushSettings {
  /** Whether notifications show the sender and the text. */
  previews: boolean;
  /** A daily do-not-disturb window; null when none. */
  quietHours: QuietHours | null;
}

export function registrationBody(registration: PushTokenRegistration): JsonObject {
  return {
    provider: registration.provider,
    token: registration.token,
    appID: registration.appId,
    ...(registration.sandbox !== undefined && { sandbox: registration.sandbox }),
  };
}

export function readDeviceId(data: unknown): string {
  if (!isObject(data)) throw new ShapeError("the registration answer is not an object");
  return string(data, "deviceID", true);
}

export function readPushSettings(data: unknown): PushSettings {
  if (!isObject(data)) throw new ShapeError("push settings are not an object");
  const quiet = data.quietHours;
  if (quiet !== null && !isObject(quiet)) throw new ShapeError("quietHours is neither an object nor null");
  return {
    previews: boolean(data, "previews"),
    quietHours:
      quiet === null
        ? null
        : {
            start: string(quiet, "start", true),
            end: string(quiet, "end", true),
            timeZone: string(quiet, "timeZone", true),
          },
  };
}
