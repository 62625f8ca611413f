// /api/admin/webhooks/dead-letters: webhook events the receiver never took after every retry
// (src/webhooks/dead-letters.ts), newest first, paged by `before` (a row id); and sending one again
// once the receiver is fixed: it goes back on the webhook Queue with its own id (a receiver that got
// it after all drops the repeat) and leaves the list.
import { Hono } from "hono";
import { z } from "zod";
import type { WebhookEventName } from "../../../config/settings";
import { database } from "../../../db/client";
import {
  deadLetter,
  deadLetterPage,
  removeDeadLetter,
  type DeadLetterRow,
} from "../../../db/webhook-dead-letters";
import { ApiError, ok } from "../../../http/envelope";
import { validated } from "../../../http/validate";
import { enqueueEvents, type WebhookEvent } from "../../../webhooks/events";
import { audited, noteAudit } from "../../middleware/admin-audit";
import type { AppEnv } from "../../types";

/** Largest page of dead letters (each may carry a message's content). */
export const MAX_DEAD_LETTER_PAGE = 100;

const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_DEAD_LETTER_PAGE).default(20),
  before: z.coerce.number().int().min(1).optional(),
});

const IdParam = z.object({ id: z.coerce.number().int().min(1) });

function toJson(row: DeadLetterRow) {
  return {
    id: row.id,
    eventID: row.eventId,
    event: row.event,
    time: row.at,
    body: JSON.parse(row.body) as WebhookEvent,
  };
}

export const adminWebhookRoutes = new Hono<AppEnv>()
  .get("/dead-letters", audited("webhook.dead_letters"), async (c) => {
    const query = validated(PageQuery, c.req.query());
    noteAudit(c, "", query);
    const rows = await deadLetterPage(database(c.env), query.before ?? null, query.limit);
    const last = rows.at(-1);
    return ok(c, {
      deadLetters: rows.map(toJson),
      next: last && rows.length === query.limit ? last.id : null,
    });
  })
  .post("/dead-letters/:id/replay", audited("webhook.replay"), async (c) => {
    const { id } = validated(IdParam, c.req.param());
    noteAudit(c, String(id));
    const hook = c.var.settings.webhook;
    if (!hook) throw new ApiError(409, "no webhook receiver is set (WEBHOOK_URL)");
    const db = database(c.env);
    const row = await deadLetter(db, id);
    if (!row) throw new ApiError(404, "dead letter not found");
    // The consumer would drop it, and the row would be gone: kept until the event is wanted again.
    if (!hook.events.has(row.event as WebhookEventName))
      throw new ApiError(409, `${row.event} is not in WEBHOOK_EVENTS: the receiver would not get it`);
    await enqueueEvents(c.env.WEBHOOK_QUEUE, [JSON.parse(row.body) as WebhookEvent]);
    await removeDeadLetter(db, id);
    return ok(c, { id, eventID: row.eventId, requeued: true });
  });
