// Notices (message_type 8): friend notices in `system_<me>`, membership changes in group conversations.
// Their content is JSON such as {"type":"member_joined","operatorID":…,"userIDs":[…]}.

export interface Notice {
  type: string;
  operatorID: string;
  userIDs: string[];
  /** friend notices: the other user */
  userID: string;
  fromUserID: string;
  groupName: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The notice in a message's text, or null when it is not one we can read. */
export function parseNotice(text: string): Notice | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(data)) return null;
  const o = data;
  const str = (key: string): string => {
    const value = o[key];
    return typeof value === "string" ? value : "";
  };
  const ids = Array.isArray(o.userIDs) ? o.userIDs.filter((id): id is string => typeof id === "string") : [];
  if (!str("type")) return null;
  return {
    type: str("type"),
    operatorID: str("operatorID"),
    userIDs: ids,
    userID: str("userID"),
    fromUserID: str("fromUserID"),
    groupName: str("groupName"),
  };
}

/** Every user id a notice mentions, to look their names up before describing it. */
export function noticeUserIds(notice: Notice): string[] {
  return [notice.operatorID, notice.userID, notice.fromUserID, ...notice.userIDs].filter(Boolean);
}

/** A sentence for a notice; `name` turns an id into a display name ("You" for the reader). */
export function describeNotice(notice: Notice, name: (userId: string) => string): string {
  const actor = name(notice.operatorID || notice.userID || notice.fromUserID);
  const people = notice.userIDs.map(name).join(", ");
  switch (notice.type) {
    case "group_created":
      return `${actor} created the group${notice.groupName ? ` “${notice.groupName}”` : ""}`;
    case "member_joined":
      return `${people || actor} joined`;
    case "member_left":
      return `${people || actor} left`;
    case "member_invited":
      return `${actor} added ${people}`;
    case "member_kicked":
      return `${actor} removed ${people}`;
    case "group_updated":
      return `${actor} updated the group`;
    case "group_dismissed":
      return `${actor} dismissed the group`;
    case "owner_transferred":
      return `${people} is now the owner`;
    case "friend_request":
      return `${actor} sent you a friend request`;
    case "friend_accepted":
      return `${actor} accepted your friend request`;
    case "friend_rejected":
      return `${actor} declined your friend request`;
    case "friend_deleted":
      return `${actor} removed you as a friend`;
    default:
      return "Update";
  }
}
