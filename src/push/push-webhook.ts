// A team's own push service: each "webhook" device's notification is POSTed to PUSH_WEBHOOK_URL,
// signed like every webhook of ours (src/webhooks/signature.ts: `X-Edge-IM-Signature: t=…,v1=…`,
// HMAC-SHA256 over `<t>.<body>` with PUSH_WEBHOOK_SECRET), with `X-Edge-IM-Event: push` and
// `X-Edge-IM-Delivery` (the job and device, the same on every retry: a receiver may dedup on it).
// A 2xx is delivered; 404 or 410 say the token is dead; 408, 429 and 5xx are retried.
import { EVENT_HEADER, signedJsonHeaders } from "../webhooks/signature";
import type { PushDevice } from "./devices";
import type { PushJob } from "./job";
import { PROVIDER_TIMEOUT_MS } from "./limits";
import type { Notification } from "./notification";
import { outcomeOfStatus, unreachable, type SendOutcome } from "./outcome";

export async function sendPushWebhook(
  webhook: { url: string; secret: string },
  job: PushJob,
  device: PushDevice,
  n: Notification,
): Promise<SendOutcome> {
  const body = JSON.stringify({
    event: "push",
    userID: job.userId,
    device: { token: device.token, appID: device.appId },
    notification: {
      title: n.title,
      body: n.body,
      badge: n.badge,
      count: n.count,
      collapseID: n.collapseId,
      conversationID: n.conversationId,
      conversationType: n.conversationType,
      seq: n.seq,
    },
  });
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: "POST",
      headers: await signedJsonHeaders(webhook.secret, body, {
        [EVENT_HEADER]: "push",
        "X-Edge-IM-Delivery": `${job.id}/${device.id}`,
      }),
      body,
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    return unreachable(error);
  }
  await response.body?.cancel();
  if (response.status === 404 || response.status === 410)
    return { kind: "dead", reason: `http_${response.status}` };
  return outcomeOfStatus(response.status, `http_${response.status}`);
}
