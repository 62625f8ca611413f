// Faults injected into a user's object from a test: what happens after a conversation has stored
// a send, before its answer reaches the sender's object.
import { env, runInDurableObject } from "cloudflare:test";
import type { SendOutcome } from "../../../src/objects/rpc";
import type { ConversationStub, UserServices } from "../../../src/objects/user/frame-context";

type Send = (inputs: unknown) => Promise<SendOutcome>;
type Conversations = UserServices["conversations"];

/** Each user's own conversation stubs while a fault replaces them. */
const replaced = new Map<string, Conversations>();

/**
 * Routes the user's sends through `after`, which gets each call's real outcome (the conversation
 * has stored the messages) and decides what the user's object sees: the outcome, later, or an error.
 */
export async function afterConversationSends(
  userId: string,
  after: (outcome: SendOutcome) => Promise<SendOutcome>,
): Promise<void> {
  await runInDurableObject(env.USER_OBJECT.getByName(userId), (instance) => {
    const services = instance["services"]();
    if (!replaced.has(userId)) replaced.set(userId, services.conversations);
    const conversations: Conversations = {
      call: async (name, use) => {
        const stub = env.CONVERSATION_OBJECT.getByName(name);
        const send: Send = async (inputs) =>
          after(await stub.send(inputs as Parameters<typeof stub.send>[0]));
        return await use({ send } as unknown as ConversationStub);
      },
    };
    services.conversations = conversations;
  });
}

/** Undoes afterConversationSends. */
export async function restoreConversationSends(userId: string): Promise<void> {
  await runInDurableObject(env.USER_OBJECT.getByName(userId), (instance) => {
    const own = replaced.get(userId);
    if (own) instance["services"]().conversations = own;
    replaced.delete(userId);
  });
}
