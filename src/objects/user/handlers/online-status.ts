// ONLINE_STATUS_REQ: the presence of the users asked about, as far as the asker may see it.
import { PresenceVisibleTo } from "../../../config/settings";
import { database } from "../../../db/client";
import { friendIds } from "../../../db/social";
import { existingUserIds } from "../../../db/users";
import { Cmd, Err, pb } from "../../../protocol/codec";
import { isValidId } from "../../../protocol/conversation-id";
import type { Presence } from "../../rpc";
import { decodeBody, reply, RequestError, type FrameContext } from "../frame-context";

/** Most users one ONLINE_STATUS_REQ may ask about. */
export const MAX_STATUS_USERS = 200;

/** What a user whose presence the asker may not see looks like: offline, never seen. */
const hidden = (userId: string): Presence => ({ userId, online: false, platforms: [], lastSeen: 0 });

/**
 * Presence of the users asked about. Only users the asker may see (their friends and themselves,
 * or every existing user under PRESENCE_VISIBLE_TO = everyone) are asked, each in their own object;
 * anyone else gets `hidden`, which is also what an unknown id gets, so the answer tells nothing,
 * not even whether the id exists, and no object is woken or made for it.
 */
export async function onlineStatus(fc: FrameContext<"env" | "settings">): Promise<void> {
  const req = decodeBody(fc, pb.OnlineStatusRequest);
  const ids = [...new Set(req.userIds ?? [])];
  if (ids.length > MAX_STATUS_USERS)
    throw new RequestError(Err.ERR_INVALID_PARAM, `at most ${MAX_STATUS_USERS} user_ids`);
  if (!ids.every(isValidId)) throw new RequestError(Err.ERR_INVALID_PARAM, "malformed user_id");
  const me = fc.state.userId;
  const db = database(fc.env);
  const visible =
    fc.settings.presenceVisibleTo === PresenceVisibleTo.everyone
      ? await existingUserIds(db, ids)
      : new Set([...(await friendIds(db, me)), me]);
  const statuses: Presence[] = await Promise.all(
    ids.map((id) => (visible.has(id) ? fc.env.USER_OBJECT.getByName(id).presence(id) : hidden(id))),
  );
  reply(fc, Cmd.CMD_ONLINE_STATUS_RSP, pb.OnlineStatusResponse, { errorCode: Err.ERR_SUCCESS, statuses });
}
