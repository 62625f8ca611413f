// Notices to a user about social changes (friend requests and answers): a message_type 8 message
// in the user's own system conversation `system_<userId>`. Online devices get it as a push;
// offline ones find it in their next BATCH_SYNC, so no notice is lost while a user is away.
import { systemConversationId } from "../protocol/conversation-id";
import { logEvent } from "../observability/log";

export type Notice = { type: string } & Record<string, unknown>;

export async function notifyUser(env: Env, userId: string, notice: Notice): Promise<void> {
  try {
    await env.CONVERSATION_OBJECT.getByName(systemConversationId(userId)).postNotice(notice);
  } catch (error) {
    // The change itself is stored; a lost notice only delays when the user hears of it.
    logEvent("error", "notice_failed", { userId, reason: notice.type }, error);
  }
}
