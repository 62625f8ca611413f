// Rich messages' wire shapes (replies, reactions, pins, edit history) read into the client's types.
import type { im } from "../protocol/generated/im.js";
import type { MessageVersion, PinnedMessage, Reaction, ReplyRef } from "./types.ts";

type WireReplyRef = im.protocol.IReplyRef;
type WireReaction = im.protocol.IReaction;
type WirePin = im.protocol.IPinnedMessage;
type WireVersion = im.protocol.IMessageVersion;

const utf8 = new TextDecoder();

/** The feature a client declares in AUTH to be sent rich messages' frames and fields. */
export const RICH_MESSAGES = "rich_messages";

export function toReplyRef(r: WireReplyRef): ReplyRef {
  return {
    serverMsgId: r.serverMsgId ?? "",
    seq: Number(r.seq ?? 0),
    senderId: r.senderId ?? "",
    messageType: r.messageType ?? 0,
    snippet: r.snippet ?? "",
    revoked: r.revoked ?? false,
  };
}

export function toReactions(reactions: readonly WireReaction[] | null | undefined): Reaction[] {
  return (reactions ?? []).map((r) => ({
    emoji: r.emoji ?? "",
    count: r.count ?? 0,
    userIds: [...(r.userIds ?? [])],
  }));
}

export function toPins(pins: readonly WirePin[] | null | undefined): PinnedMessage[] {
  return (pins ?? []).map((p) => ({
    serverMsgId: p.serverMsgId ?? "",
    seq: Number(p.seq ?? 0),
    pinnedBy: p.pinnedBy ?? "",
    pinnedTime: Number(p.pinnedTime ?? 0),
  }));
}

export function toVersions(versions: readonly WireVersion[] | null | undefined): MessageVersion[] {
  return (versions ?? []).map((v) => {
    const content = v.content ?? new Uint8Array();
    return { content, text: utf8.decode(content), replacedTime: Number(v.replacedTime ?? 0) };
  });
}
