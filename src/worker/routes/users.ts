// /api/user: profile look-ups (http-api.md §2.3, §2.4).
import { Hono } from "hono";
import { z } from "zod";
import { database } from "../../db/client";
import { findUserById, findUsersByIds, toUserJson } from "../../db/users";
import { notFound, ok } from "../../http/envelope";
import { jsonBody, validated } from "../../http/validate";
import { isValidId } from "../../protocol/conversation-id";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/** Most ids one batch look-up accepts. */
export const MAX_BATCH_USER_IDS = 100;

const userId = z.string().refine(isValidId, "must be a user id (letters, digits and '-', at most 64)");
const BatchBody = z.object({
  userIDs: z
    .array(userId)
    .min(1, "must not be empty")
    .max(MAX_BATCH_USER_IDS, `at most ${MAX_BATCH_USER_IDS} ids`),
});

export const userRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  // The literal `batch` is matched before `{userID}` (http-api.md §2.4).
  .post("/info/batch", async (c) => {
    const { userIDs } = await jsonBody(c, BatchBody);
    const rows = await findUsersByIds(database(c.env), [...new Set(userIDs)]);
    return ok(c, rows.map(toUserJson));
  })
  .get("/info/:userID", async (c) => {
    const id = validated(userId, c.req.param("userID"));
    const row = await findUserById(database(c.env), id);
    if (!row) throw notFound("User not found");
    return ok(c, toUserJson(row));
  });
