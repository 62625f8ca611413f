// /api/conversations (extension): the user's conversation list from their UserObject's inbox, with
// unread = max_seq − read_seq, and pin / mute / delete (hide until the next message) / read.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { database } from "../../db/client";
import { findUsersByIds } from "../../db/users";
import { ApiError, notFound, ok } from "../../http/envelope";
import { jsonBody, validated } from "../../http/validate";
import { Err, pb, type MessageInfo } from "../../protocol/codec";
import { ConversationType, parseConversationId } from "../../protocol/conversation-id";
import { findGroups } from "../../db/groups";
import type { InboxEntry } from "../../objects/user/inbox";
import { requireAuth } from "../middleware/require-auth";
import type { AppEnv } from "../types";

/** Largest page of the conversation list. */
export const MAX_CONVERSATION_PAGE = 100;

const conversationIdParam = z
  .string()
  .refine((id) => parseConversationId(id) !== null, "must be a conversation id such as single_<a>_<b>");
const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_CONVERSATION_PAGE).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
const PinBody = z.object({ pinned: z.boolean() });
const MuteBody = z.object({ muted: z.boolean() });

/** The SDK's IMConversation (http-api.md §3.5), plus maxSeq, readSeq and mentioned. */
export interface ConversationJson {
  conversationID: string;
  conversationType: number;
  userID: string;
  groupID: string;
  showName: string;
  faceURL: string;
  latestMsg: string;
  latestMsgSendTime: number;
  unreadCount: number;
  lastReadTime: number;
  isPinned: boolean;
  isMuted: boolean;
  isPrivate: boolean;
  draftText: string;
  draftTime: number;
  extra: string;
  updateTime: number;
  maxSeq: number;
  readSeq: number;
  /** An unread message mentions the reader (docs/RICH-MESSAGES.md): the "@ you" mark. */
  mentioned: boolean;
}

/** The last message as the SDK's JSON-in-a-string `latestMsg`; direction 1 sent, 2 received. */
function latestMessageJson(entry: InboxEntry, m: MessageInfo | null, me: string): string {
  if (!m) return "";
  return JSON.stringify({
    serverMsgID: m.serverMsgId ?? "",
    clientMsgID: m.clientMsgId ?? "",
    conversationID: entry.conversationId,
    conversationType: entry.conversationType,
    senderID: m.senderId ?? "",
    receiverID: m.receiverId ?? "",
    groupID: m.groupId ?? "",
    messageType: m.messageType ?? 0,
    content: new TextDecoder().decode(m.content ?? new Uint8Array()),
    extra: m.extra ?? "",
    status: m.status ?? 1,
    direction: m.senderId === me ? 1 : 2,
    seq: Number(m.seq ?? 0),
    sendTime: Number(m.sendTime ?? 0),
    serverTime: Number(m.serverTime ?? 0),
    createTime: Number(m.createTime ?? 0),
    isRead: Number(m.seq ?? 0) <= entry.readSeq,
    isRevoked: m.isRevoked ?? false,
    revokedBy: m.revokedBy ?? "",
    revokedTime: Number(m.revokedTime ?? 0),
    attachedInfo: m.attachedInfo ?? "",
  });
}

/** The name and picture a conversation is shown with: the peer's, the group's, or the system's. */
async function faces(
  c: Context<AppEnv>,
  entries: InboxEntry[],
): Promise<Map<string, { name: string; face: string }>> {
  const db = database(c.env);
  const peers = await findUsersByIds(db, [...new Set(entries.map((e) => e.peerId).filter(Boolean))]);
  const groupIds = entries.flatMap((e) => {
    const parsed = parseConversationId(e.conversationId);
    return parsed?.type === ConversationType.group ? [parsed.groupId] : [];
  });
  const groupRows = await findGroups(db, groupIds);
  const byId = new Map<string, { name: string; face: string }>();
  for (const p of peers) byId.set(p.id, { name: p.nickname, face: p.avatar });
  for (const g of groupRows) byId.set(`group_${g.id}`, { name: g.name, face: g.faceUrl });
  return byId;
}

async function toJson(c: Context<AppEnv>, entries: InboxEntry[]): Promise<ConversationJson[]> {
  const known = await faces(c, entries);
  return entries.map((entry) => {
    const parsed = parseConversationId(entry.conversationId);
    const face =
      parsed?.type === ConversationType.system
        ? { name: "Notifications", face: "" }
        : known.get(entry.peerId || entry.conversationId);
    const last = entry.lastMessage ? pb.MessageInfo.decode(entry.lastMessage) : null;
    return {
      conversationID: entry.conversationId,
      conversationType: entry.conversationType,
      userID: entry.peerId,
      groupID: parsed?.type === ConversationType.group ? parsed.groupId : "",
      showName: face?.name ?? "",
      faceURL: face?.face ?? "",
      latestMsg: latestMessageJson(entry, last, c.var.userId),
      latestMsgSendTime: Number(last?.sendTime ?? entry.lastTime),
      unreadCount: Math.max(0, entry.maxSeq - entry.readSeq),
      lastReadTime: entry.readTime,
      isPinned: entry.pinned,
      isMuted: entry.muted,
      isPrivate: false,
      draftText: "",
      draftTime: 0,
      extra: "",
      updateTime: entry.lastTime,
      maxSeq: entry.maxSeq,
      readSeq: entry.readSeq,
      mentioned: entry.mentionSeq > entry.readSeq,
    };
  });
}

function inbox(c: Context<AppEnv>) {
  return c.env.USER_OBJECT.getByName(c.var.userId);
}

async function one(c: Context<AppEnv>, conversationId: string): Promise<ConversationJson> {
  const entry = await inbox(c).conversation(conversationId);
  if (!entry) throw notFound("Conversation not found");
  const [json] = await toJson(c, [entry]);
  if (!json) throw notFound("Conversation not found");
  return json;
}

async function setFlag(
  c: Context<AppEnv>,
  flag: "pinned" | "muted" | "hidden",
  on: boolean,
): Promise<string> {
  const id = validated(conversationIdParam, c.req.param("conversationID"));
  if (!(await inbox(c).setConversationFlag(id, flag, on))) throw notFound("Conversation not found");
  return id;
}

export const conversationRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get("/", async (c) => {
    const { limit, offset } = validated(PageQuery, c.req.query());
    // One more than asked tells whether another page follows.
    const entries = await inbox(c).conversationPage(offset, limit + 1);
    const conversations = await toJson(c, entries.slice(0, limit));
    return ok(c, { conversations, nextOffset: entries.length > limit ? offset + limit : null });
  })
  .get("/:conversationID", async (c) => {
    return ok(c, await one(c, validated(conversationIdParam, c.req.param("conversationID"))));
  })
  .post("/:conversationID/pin", async (c) => {
    const { pinned } = await jsonBody(c, PinBody);
    return ok(c, await one(c, await setFlag(c, "pinned", pinned)));
  })
  .post("/:conversationID/mute", async (c) => {
    const { muted } = await jsonBody(c, MuteBody);
    return ok(c, await one(c, await setFlag(c, "muted", muted)));
  })
  .post("/:conversationID/delete", async (c) => {
    await setFlag(c, "hidden", true);
    return ok(c, null);
  })
  .post("/:conversationID/read", async (c) => {
    const id = validated(conversationIdParam, c.req.param("conversationID"));
    const result = await inbox(c).markRead(c.var.userId, id);
    if (!result.ok) throw new ApiError(result.code === Err.ERR_PERMISSION_DENIED ? 403 : 400, result.message);
    return ok(c, await one(c, id));
  });
