// Each message's status as its reader sees it: read or delivered for what others sent; for the
// reader's own messages, whether the peer has them or read them (one-to-one), or how many members
// read each and who (groups, the names only up to the receipt size setting; read-status.ts).
import { ConversationType, type ParsedConversation } from "../../protocol/conversation-id";
import { MessageStatus, type StoredMessage } from "../message";
import type { MemberStore } from "./member-store";

export function annotate(
  members: MemberStore,
  receiptMaxMembers: number,
  conversation: ParsedConversation,
  readerId: string,
  messages: StoredMessage[],
): void {
  const reader = members.get(readerId);
  const group = conversation.type === ConversationType.group;
  const listReaders = group && members.activeCount() <= receiptMaxMembers;
  const others =
    conversation.type === ConversationType.single
      ? conversation.members.filter((m) => m !== readerId).map((m) => members.get(m))
      : [];
  // The reader's own messages in a group: read counts for the whole page in one indexed pass.
  const own = group ? messages.filter((m) => m.senderId === readerId).map((m) => m.seq) : [];
  const readStatus = members.readStatus(own, readerId, listReaders);
  for (const m of messages) {
    if (m.senderId !== readerId) {
      m.status = (reader?.readSeq ?? 0) >= m.seq ? MessageStatus.read : MessageStatus.delivered;
    } else if (group) {
      const read = readStatus.get(m.seq) ?? { count: 0 };
      m.readCount = read.count;
      if (read.readers) m.readBy = read.readers;
      m.status = read.count > 0 ? MessageStatus.read : MessageStatus.delivered;
    } else if (others.some((o) => (o?.readSeq ?? 0) >= m.seq)) {
      m.status = MessageStatus.read;
    } else {
      m.status = others.some((o) => (o?.deliveredSeq ?? 0) >= m.seq)
        ? MessageStatus.delivered
        : MessageStatus.sent;
    }
  }
}
