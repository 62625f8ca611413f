// D1 faults injected into one Durable Object: its env.DB is swapped for a binding that fails every
// call ("down") or commits each batch and then loses the reply ("lose-reply").
import { env as testEnv, runInDurableObject } from "cloudflare:test";
import type { ConversationObject } from "../../../src/objects/conversation/conversation-object";

export type D1Fault = "down" | "lose-reply";

const outage = () => Promise.reject(new Error("D1_ERROR: injected outage"));

function faulty(real: D1Database, fault: D1Fault): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (fault === "down") return outage();
          await target.batch(statements);
          throw new Error("D1_ERROR: Network connection lost (injected after the commit)");
        };
      }
      if (prop === "prepare" && fault === "down") {
        const statement: D1PreparedStatement = new Proxy({} as D1PreparedStatement, {
          get: (_, method) => (method === "bind" ? () => statement : outage),
        });
        return () => statement;
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

type WithEnv = { env: Env };
type Stub = ReturnType<typeof testEnv.CONVERSATION_OBJECT.getByName>;

/** Gives the object behind `stub` a faulty D1 until the returned function restores the real one. */
export async function injectD1Fault(stub: Stub, fault: D1Fault): Promise<() => Promise<void>> {
  const real = await runInDurableObject(stub, (instance: ConversationObject) => {
    const target = instance as unknown as WithEnv;
    const env = target.env;
    target.env = { ...env, DB: faulty(env.DB, fault) };
    return env;
  });
  return () =>
    runInDurableObject(stub, (instance: ConversationObject) => {
      (instance as unknown as WithEnv).env = real;
    });
}
