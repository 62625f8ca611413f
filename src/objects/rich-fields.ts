// A message's rich fields (MessageInfo fields 100+, docs/RICH-MESSAGES.md) encoded on their own, the
// `ext` a conversation stores beside the SDK's columns. `pb.MessageInfo.encode` writes no field at its
// default, so a MessageInfo with only these set encodes exactly these fields, and the bytes follow a
// message's SDK bytes to make one MessageInfo for a rich_messages socket (user/rich-updates.ts).
import { pb, type MessageInfo } from "../protocol/codec";

/** The rich fields a stored message can carry (forward_of is a request field, never stored). */
export type RichFields = Pick<
  MessageInfo,
  | "replyTo"
  | "mentionUserIds"
  | "mentionAll"
  | "forwardedFrom"
  | "editedTime"
  | "editCount"
  | "reactions"
  | "replyCount"
  | "modSeq"
>;

/** How many characters of a quoted text message its reply carries. */
export const REPLY_SNIPPET_CHARS = 100;

/** The fields encoded, or undefined when none is set (a plain message stores no ext). */
export function encodeRich(fields: RichFields): Uint8Array | undefined {
  const bytes = pb.MessageInfo.encode(fields).finish();
  // A buffer of its own: protobufjs encodes small messages into a shared pool (message.ts ownBytes).
  return bytes.byteLength === 0 ? undefined : bytes.slice();
}

/** The rich fields in `ext`, each present only when set (so encodeRich gives the same bytes back). */
export function decodeRich(ext: Uint8Array | undefined): RichFields {
  const fields: RichFields = {};
  if (!ext || ext.byteLength === 0) return fields;
  const m = pb.MessageInfo.decode(ext);
  if (m.replyTo) {
    const r = m.replyTo;
    fields.replyTo = {
      serverMsgId: r.serverMsgId,
      seq: Number(r.seq),
      senderId: r.senderId,
      messageType: r.messageType,
      snippet: r.snippet,
      revoked: r.revoked,
    };
  }
  if (m.mentionUserIds.length > 0) fields.mentionUserIds = [...m.mentionUserIds];
  if (m.mentionAll) fields.mentionAll = true;
  if (m.forwardedFrom)
    fields.forwardedFrom = {
      senderId: m.forwardedFrom.senderId,
      serverTime: Number(m.forwardedFrom.serverTime),
    };
  if (Number(m.editedTime) !== 0) fields.editedTime = Number(m.editedTime);
  if (m.editCount !== 0) fields.editCount = m.editCount;
  if (m.reactions.length > 0)
    fields.reactions = m.reactions.map((r) => ({
      emoji: r.emoji,
      count: r.count,
      userIds: [...(r.userIds ?? [])],
    }));
  if (m.replyCount !== 0) fields.replyCount = m.replyCount;
  if (Number(m.modSeq) !== 0) fields.modSeq = Number(m.modSeq);
  return fields;
}

/** What a reply shows of a quoted text message: its first REPLY_SNIPPET_CHARS characters. */
export function snippetOf(messageType: number, content: Uint8Array): string {
  if (messageType !== 1) return "";
  const text = new TextDecoder().decode(content);
  // By code point, so an emoji or a CJK character outside the BMP is never cut in half.
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n++ >= REPLY_SNIPPET_CHARS) break;
    out += ch;
  }
  return out;
}
