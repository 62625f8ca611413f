// ObjectIds keeps the ids of the objects an object calls often and makes a new stub for every call
// (src/objects/object-ids.ts): a stub kept across requests held the garbage of every call made
// through it until a major collection, and one whose call failed stayed broken.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { namedObjects, ObjectIds } from "../../src/objects/object-ids";
import { newUser } from "./helpers/http";

/** The user namespace, counting the ids it makes. */
function countingUsers() {
  const made: string[] = [];
  const namespace = {
    idFromName(name: string) {
      made.push(name);
      return env.USER_OBJECT.idFromName(name);
    },
    get: (id: DurableObjectId) => env.USER_OBJECT.get(id),
  } as unknown as typeof env.USER_OBJECT;
  return { made, namespace };
}

describe("ObjectIds", () => {
  it("makes a new stub for every call, from an id it looks up once", async () => {
    const user = await newUser("a");
    const { made, namespace } = countingUsers();
    const users = namedObjects(
      () => namespace,
      (userId: string) => userId,
      10,
    );
    const first = users.stub(user.userId);
    const second = users.stub(user.userId);
    expect(second).not.toBe(first);
    expect(made).toEqual([user.userId]);
    // The stub made from the kept id reaches the object by its name, which the object knows.
    const name = await users.call(user.userId, (stub) =>
      runInDurableObject(stub, (_o, state) => state.id.name),
    );
    expect(name).toBe(user.userId);
    expect(made).toEqual([user.userId]);
  });

  it("keeps at most its bound of ids, dropping the one kept longest", () => {
    const made: string[] = [];
    const ids = new ObjectIds(
      (key: string) => {
        made.push(key);
        return env.USER_OBJECT.idFromName(key);
      },
      (id) => id,
      2,
    );
    ids.stub("a");
    ids.stub("b");
    ids.stub("c"); // "a" goes
    ids.stub("b");
    ids.stub("a");
    expect(made).toEqual(["a", "b", "c", "a"]);
  });
});
