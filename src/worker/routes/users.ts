// /api/user: profile look-ups, the caller's own profile update, and search (http-api.md §2.3–2.6).
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { users } from "../../../schema/tables";
import { database } from "../../db/client";
import { searchUsers } from "../../db/user-search";
import { findUserById, findUsersByIds, toUserJson } from "../../db/users";
import { ApiError, notFound, ok } from "../../http/envelope";
import { userIdField, userIdList } from "../../http/schemas";
import { jsonBody, validated } from "../../http/validate";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/** Most ids one batch look-up accepts. */
export const MAX_BATCH_USER_IDS = 100;
/** Largest page of search results. */
export const MAX_SEARCH_PAGE = 50;

const BatchBody = z.object({ userIDs: userIdList(MAX_BATCH_USER_IDS) });

/** The SDK always sends all six keys and means a full replacement (http-api.md §2.5). */
const UpdateBody = z.object({
  userID: userIdField.optional(),
  nickname: z.string().trim().min(1, "must not be empty").max(64),
  avatar: z.string().max(1024),
  signature: z.string().max(256),
  gender: z.number().int().min(0).max(2),
  birth: z.number().int().min(0),
});

const SearchParams = z.object({
  keyword: z.string().trim().min(1, "must not be empty").max(64),
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE).default(20),
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
    const id = validated(userIdField, c.req.param("userID"));
    const row = await findUserById(database(c.env), id);
    if (!row) throw notFound("User not found");
    return ok(c, toUserJson(row));
  })
  .post("/update", async (c) => {
    const body = await jsonBody(c, UpdateBody);
    if (body.userID && body.userID !== c.var.userId)
      throw new ApiError(403, "you can only update your own profile");
    const [row] = await database(c.env)
      .update(users)
      .set({
        nickname: body.nickname,
        avatar: body.avatar,
        signature: body.signature,
        gender: body.gender,
        birth: body.birth,
        updatedAt: Date.now(),
      })
      .where(eq(users.id, c.var.userId))
      .returning();
    if (!row) throw notFound("User not found");
    return ok(c, toUserJson(row));
  })
  .get("/search", async (c) => {
    // The SDK sends the keyword as a JSON body on a GET; the query string is read first (§1.2).
    const query = c.req.query();
    const params = validated(
      SearchParams,
      query.keyword !== undefined ? query : await jsonBody(c, z.unknown()),
    );
    const rows = await searchUsers(database(c.env), params.keyword, params.offset, params.limit);
    return ok(c, rows.map(toUserJson));
  });
