// /api/push (extension): a device registers its push token (APNs, FCM, or the team's own service
// through the push webhook) for its login session, lists and unregisters it; the user's preview and
// do-not-disturb settings, and a conversation's hidden previews. Tokens live in D1; the settings in
// the user's object, which decides each push (src/push/, docs/PUSH.md).
import { Hono, type Context } from "hono";
import { z } from "zod";
import { ApiError, badRequest, notFound, ok } from "../../http/envelope";
import { jsonBody, validated } from "../../http/validate";
import { parseConversationId } from "../../protocol/conversation-id";
import { listDevices, PushProvider, registerDevice, unregisterSessions } from "../../push/devices";
import { MAX_APP_ID_LENGTH, MAX_HIDDEN_PREVIEWS, MAX_TOKEN_LENGTH } from "../../push/limits";
import { isTimeZone, minuteOfDay } from "../../push/quiet-hours";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

const TOKEN_RULES = {
  // 32 bytes in hex today; Apple says tokens may grow, so up to 100 bytes.
  [PushProvider.apns]: { pattern: /^[0-9a-fA-F]{64,200}$/, says: "an APNs device token in hex" },
  [PushProvider.fcm]: { pattern: /^[A-Za-z0-9_:\-.]{32,4096}$/, says: "an FCM registration token" },
  [PushProvider.webhook]: { pattern: /^[\x21-\x7e]{1,4096}$/, says: "printable ASCII without spaces" },
} as const;

const APP_ID_RULES = {
  [PushProvider.apns]: {
    pattern: /^[A-Za-z0-9][A-Za-z0-9.-]*$/,
    says: "the app's bundle id (the apns-topic)",
  },
  [PushProvider.fcm]: { pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, says: "the Firebase project id" },
  [PushProvider.webhook]: { pattern: /^[A-Za-z0-9._:-]+$/, says: "letters, digits, '.', '_', ':' or '-'" },
} as const;

const RegisterBody = z
  .object({
    provider: z.enum(PushProvider, { error: 'must be "apns", "fcm" or "webhook"' }),
    token: z.string().min(1).max(MAX_TOKEN_LENGTH),
    appID: z.string().min(1).max(MAX_APP_ID_LENGTH),
    // APNs only: a development build's token, served by the sandbox endpoint.
    sandbox: z.boolean().default(false),
  })
  .superRefine((body, context) => {
    const token = TOKEN_RULES[body.provider];
    if (!token.pattern.test(body.token))
      context.addIssue({ code: "custom", path: ["token"], message: `must be ${token.says}` });
    const app = APP_ID_RULES[body.provider];
    if (!app.pattern.test(body.appID))
      context.addIssue({ code: "custom", path: ["appID"], message: `must be ${app.says}` });
    if (body.sandbox && body.provider !== PushProvider.apns)
      context.addIssue({ code: "custom", path: ["sandbox"], message: "is for APNs tokens only" });
  });

const QuietHoursBody = z
  .object({
    start: z.string().refine((t) => minuteOfDay(t) !== null, "must be HH:MM (00:00–23:59)"),
    end: z.string().refine((t) => minuteOfDay(t) !== null, "must be HH:MM (00:00–23:59)"),
    timeZone: z.string().refine(isTimeZone, "must be an IANA time zone such as Europe/Paris"),
  })
  .refine((q) => q.start !== q.end, { error: "start and end must differ", path: ["end"] });

const SettingsBody = z.object({
  previews: z.boolean().optional(),
  quietHours: QuietHoursBody.nullable().optional(),
});

const PreviewBody = z.object({ hidden: z.boolean() });

const conversationIdParam = z
  .string()
  .refine((id) => parseConversationId(id) !== null, "must be a conversation id such as single_<a>_<b>");

function userObject(c: Context<AppEnv>) {
  return c.env.USER_OBJECT.getByName(c.var.userId);
}

/** Removes the tokens of ended login sessions (logout) and tells the user's object what is left. */
export async function forgetPushDevices(
  env: Env,
  userId: string,
  sessionIds: readonly string[] | null,
): Promise<void> {
  const left = await unregisterSessions(env.DB, userId, sessionIds);
  await env.USER_OBJECT.getByName(userId).pushDevicesChanged(left);
}

export const pushRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/devices", async (c) => {
    const body = await jsonBody(c, RegisterBody);
    const push = c.var.settings.push;
    const configured = { apns: push.apns, fcm: push.fcm, webhook: push.webhook }[body.provider];
    if (!configured) throw badRequest(`provider: ${body.provider} push is not configured on this server`);
    const { deviceId, devices } = await registerDevice(c.env.DB, c.var.userId, c.var.sessionId, {
      provider: body.provider,
      token: body.token,
      appId: body.appID,
      sandbox: body.sandbox,
    });
    await userObject(c).pushDevicesChanged(devices);
    return ok(c, { deviceID: deviceId });
  })
  .get("/devices", async (c) => {
    const devices = await listDevices(c.env.DB, c.var.userId);
    return ok(
      c,
      devices.map((d) => ({
        deviceID: d.id,
        provider: d.provider,
        appID: d.appId,
        sandbox: d.sandbox,
        // Enough to tell tokens apart; the whole token never leaves the server again.
        tokenSuffix: d.token.slice(-8),
        current: d.sessionId === c.var.sessionId,
        updateTime: d.updatedAt,
      })),
    );
  })
  .post("/devices/unregister", async (c) => {
    await forgetPushDevices(c.env, c.var.userId, [c.var.sessionId]);
    return ok(c, null);
  })
  .get("/settings", async (c) => ok(c, await userObject(c).pushPreferences()))
  .post("/settings", async (c) => {
    const body = await jsonBody(c, SettingsBody);
    const current = await userObject(c).pushPreferences();
    const quiet = body.quietHours === undefined ? current.quietHours : body.quietHours;
    const saved = await userObject(c).setPushPreferences(
      body.previews ?? current.previews,
      quiet === null
        ? null
        : {
            startMinute: minuteOfDay(quiet.start) ?? 0,
            endMinute: minuteOfDay(quiet.end) ?? 0,
            timeZone: quiet.timeZone,
          },
    );
    return ok(c, saved);
  })
  .get("/conversations/:conversationID", async (c) => {
    const id = validated(conversationIdParam, c.req.param("conversationID"));
    return ok(c, { conversationID: id, previewHidden: await userObject(c).previewHidden(id) });
  })
  .post("/conversations/:conversationID/preview", async (c) => {
    const id = validated(conversationIdParam, c.req.param("conversationID"));
    const { hidden } = await jsonBody(c, PreviewBody);
    if (hidden && (await userObject(c).conversation(id)) === null) throw notFound("Conversation not found");
    if (!(await userObject(c).setPreviewHidden(id, hidden)))
      throw new ApiError(409, `at most ${MAX_HIDDEN_PREVIEWS} conversations may hide their previews`);
    return ok(c, { conversationID: id, previewHidden: hidden });
  });
