// Conversation ids (PROTOCOL.md, "Conversation ids"): `single_<a>_<b>` with a < b in string order,
// `group_<id>`, and the reserved `chatroom_<id>` and `system_<id>`.

export const ConversationType = { single: 1, group: 2, chatroom: 3, system: 4 } as const;
export type ConversationType = (typeof ConversationType)[keyof typeof ConversationType];

/** Shared and frozen once parsed (parseConversationId keeps them): read-only by type too. */
export type ParsedConversation =
  | {
      readonly type: typeof ConversationType.single;
      readonly id: string;
      readonly members: readonly [string, string];
    }
  | { readonly type: typeof ConversationType.group; readonly id: string; readonly groupId: string }
  | { readonly type: typeof ConversationType.chatroom; readonly id: string; readonly roomId: string }
  | { readonly type: typeof ConversationType.system; readonly id: string; readonly ownerId: string };

/** Ids are URL-safe and never contain "_" (http-api.md §1.1), at most 64 characters. */
const ID = /^[A-Za-z0-9-]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID.test(id);
}

export function singleConversationId(a: string, b: string): string {
  return a < b ? `single_${a}_${b}` : `single_${b}_${a}`;
}

export function groupConversationId(groupId: string): string {
  return `group_${groupId}`;
}

/** The conversation the server writes notices to one user in (friend requests and the like). */
export function systemConversationId(userId: string): string {
  return `system_${userId}`;
}

/**
 * The other member of a one-to-one conversation: "" when the conversation is not one-to-one or
 * `userId` is not one of its pair.
 */
export function peerOf(conversation: ParsedConversation, userId: string): string {
  if (conversation.type !== ConversationType.single || !conversation.members.includes(userId)) return "";
  return conversation.members.find((m) => m !== userId) ?? "";
}

/**
 * Ids parsed, kept frozen: a send's frame, its delivery and its ack each parse the same id, and an
 * isolate's objects talk of the same few conversations again and again (a visible share of a lone
 * message's work, docs/PERFORMANCE.md). Insertion order is eviction order.
 */
const parsed = new Map<string, ParsedConversation>();
const PARSED_KEPT = 1_024;

/** Parses a conversation id; null when it is malformed (including an unsorted or self pair). */
export function parseConversationId(id: string): ParsedConversation | null {
  const known = parsed.get(id);
  if (known) return known;
  const result = parse(id);
  if (!result) return null;
  if (parsed.size >= PARSED_KEPT) parsed.delete(parsed.keys().next().value as string);
  if (result.type === ConversationType.single) Object.freeze(result.members);
  parsed.set(id, Object.freeze(result));
  return result;
}

function parse(id: string): ParsedConversation | null {
  const parts = id.split("_");
  const [kind, first, second] = parts;
  if (kind === "single" && parts.length === 3 && first && second) {
    if (!isValidId(first) || !isValidId(second) || !(first < second)) return null;
    return { type: ConversationType.single, id, members: [first, second] };
  }
  if (parts.length !== 2 || !first || !isValidId(first)) return null;
  switch (kind) {
    case "group":
      return { type: ConversationType.group, id, groupId: first };
    case "chatroom":
      return { type: ConversationType.chatroom, id, roomId: first };
    case "system":
      return { type: ConversationType.system, id, ownerId: first };
    default:
      return null;
  }
}
