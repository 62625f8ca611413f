// The ConversationObject's own state across versions of the code: what an object deployed before a
// change holds is carried over by its SQLite migrations.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Err } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

describe("a conversation object deployed before a change", () => {
  it("keeps a one-to-one block stored in group_state once blocks have their own table", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const aSocket = await TestSocket.connect(a);
    expect((await aSocket.sendText(a.userId, b.userId, "before")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect((await api("/api/friend/block", { body: { userID: a.userId }, token: b.token })).body.code).toBe(
      0,
    );
    const stub = env.CONVERSATION_OBJECT.getByName(singleConversationId(a.userId, b.userId));
    // Put the object back as the old code left it: the block as a group_state key, no blocks table.
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE blocks");
      sql.exec("DELETE FROM _schema WHERE name = 'blocks'");
      sql.exec("INSERT INTO group_state (key, value) VALUES (?, '1')", `blocks:${b.userId}`);
      sql.exec("INSERT INTO group_state (key, value) VALUES ('muteAll', '0')");
    });
    await evictDurableObject(stub);

    expect((await aSocket.sendText(a.userId, b.userId, "after")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);
    const stored = await runInDurableObject(stub, (_instance, state) => ({
      blocks: state.storage.sql.exec("SELECT user_id FROM blocks").toArray(),
      groupState: state.storage.sql.exec("SELECT key FROM group_state").toArray(),
    }));
    expect(stored).toEqual({ blocks: [{ user_id: b.userId }], groupState: [{ key: "muteAll" }] });

    expect((await api("/api/friend/unblock", { body: { userID: a.userId }, token: b.token })).body.code).toBe(
      0,
    );
    expect((await aSocket.sendText(a.userId, b.userId, "again")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    aSocket.close();
  });
});
