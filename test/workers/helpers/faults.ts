// Faults injected into a user's object from a test: what happens after a conversation has stored
// a send, before its answer reaches the sender's object.
import { env, runInDurableObject } from "cloudflare:test";
import type { SendOutcome } from "../../../src/objects/rpc";

type Send = (inputs: unknown) => Promise<SendOutcome>;

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
    const realEnv = services.env;
    services.env = {
      ...realEnv,
      CONVERSATION_OBJECT: {
        getByName: (name: string) => {
          const stub = realEnv.CONVERSATION_OBJECT.getByName(name);
          const send: Send = async (inputs) =>
            after(await stub.send(inputs as Parameters<typeof stub.send>[0]));
          return { send };
        },
      },
    } as unknown as Env;
  });
}

/** Undoes afterConversationSends. */
export async function restoreConversationSends(userId: string): Promise<void> {
  await runInDurableObject(env.USER_OBJECT.getByName(userId), (instance) => {
    instance["services"]().env = env;
  });
}
