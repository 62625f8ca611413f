// The ConversationObject's identity and its own state across versions of the code. An object knows
// which conversation it is from its name (it is always reached by getByName), so no call carries the
// id; an alarm set before ids carried names works from the identity the object stored. What an
// object deployed before a change holds is carried over by its SQLite migrations.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConversationObject } from "../../src/objects/conversation/conversation-object";
import type { SendInput } from "../../src/objects/rpc";
import { Err } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";
import { historyD1 } from "./helpers/history";

const text = (senderId: string, receiverId: string, body: string): SendInput => ({
  senderId,
  receiverId,
  clientMsgId: crypto.randomUUID(),
  messageType: 1,
  content: new TextEncoder().encode(body),
  sendTime: Date.now(),
  extra: "",
  attachedInfo: "",
  originSession: "",
});

const readAll = (userId: string) => ({
  userId,
  fromSeq: 1,
  toSeq: 0,
  limit: 100,
  newest: false,
  maxBytes: 1 << 20,
});

/** The identity rows an object stored (none until its first write). */
const storedIdentity = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ key: string; value: string }>(
        "SELECT key, value FROM meta WHERE key NOT IN ('flushedSeq', 'historyShard') ORDER BY key",
      )
      .toArray(),
  );

describe("a conversation object's identity", () => {
  it("comes from its name: calls to a fresh object carry no conversation id", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    const sent = await stub.send([text(a.userId, b.userId, "hello"), text(a.userId, b.userId, "again")]);
    expect(sent.results).toMatchObject([
      { ok: true, seq: 1 },
      { ok: true, seq: 2 },
    ]);
    const read = await stub.read(readAll(b.userId));
    if (!read.ok) throw new Error(read.message);
    expect(read.messages.map((m) => [m.seq, m.conversationId, m.conversationType])).toEqual([
      [1, conversationId, 1],
      [2, conversationId, 1],
    ]);
    expect((await stub.markRead({ userId: b.userId, serverMsgIds: [] })).ok).toBe(true);
    // Stored on the first write, for alarms that run without a name.
    expect(await storedIdentity(stub)).toEqual([
      { key: "conversationId", value: conversationId },
      { key: "conversationType", value: "1" },
      { key: "groupId", value: "" },
    ]);
  });

  it("answers every call to a malformed, chatroom or unknown group name with the refusals of before", async () => {
    const a = await newUser("a");
    const malformed = env.CONVERSATION_OBJECT.getByName("nonsense");
    expect(await malformed.read(readAll(a.userId))).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    expect(await malformed.typing(a.userId, 1)).toMatchObject({ ok: false, code: Err.ERR_INVALID_PARAM });
    const chatroom = env.CONVERSATION_OBJECT.getByName("chatroom_lobby");
    expect((await chatroom.send([text(a.userId, "", "hi")])).results).toEqual([
      {
        ok: false,
        code: Err.ERR_CONVERSATION_NOT_EXIST,
        message: "conversation chatroom_lobby does not exist",
      },
    ]);
    const group = env.CONVERSATION_OBJECT.getByName("group_nosuchgroup");
    expect(await group.markRead({ userId: a.userId, serverMsgIds: [] })).toMatchObject({
      ok: false,
      code: Err.ERR_CONVERSATION_NOT_EXIST,
    });
    expect(await group.groupCommand({ op: "join", actor: a.userId })).toEqual({
      ok: false,
      status: 404,
      message: "group not found",
    });
    for (const stub of [malformed, chatroom, group]) expect(await storedIdentity(stub)).toEqual([]);
  });

  it("is read from storage by an instance started without a name (an alarm set before 2026-03-15): it flushes to D1 and answers calls", async () => {
    const [a, b] = [await newUser("a"), await newUser("b")];
    const conversationId = singleConversationId(a.userId, b.userId);
    const stub = env.CONVERSATION_OBJECT.getByName(conversationId);
    await stub.send([1, 2, 3].map((i) => text(a.userId, b.userId, `m${i}`)));
    const flushed = await runInDurableObject(stub, async (_instance, state) => {
      // Whatever the named instance flushed already is unflushed again, and its alarm is gone.
      await state.storage.deleteAlarm();
      state.storage.sql.exec("UPDATE meta SET value = '0' WHERE key = 'flushedSeq'");
      const history = await historyD1(conversationId);
      await history.prepare("DELETE FROM messages WHERE conversation_id = ?").bind(conversationId).run();
      // The object as such an alarm starts it: its id without a name. (Every id has its name here,
      // so the name is hidden while the instance is made.)
      const name = Object.getOwnPropertyDescriptor(state.id, "name");
      Object.defineProperty(state.id, "name", { value: undefined, configurable: true });
      let unnamed: ConversationObject;
      try {
        unnamed = new ConversationObject(state, env);
      } finally {
        if (name) Object.defineProperty(state.id, "name", name);
        else delete (state.id as { name?: string }).name;
      }
      expect(state.id.name).toBe(conversationId);
      // Calls may reach the instance such an alarm started: they are answered as the named one would.
      const read = await unnamed.read(readAll(b.userId));
      expect(read).toMatchObject({ ok: true, maxSeq: 3 });
      expect(read.ok && read.messages.map((m) => m.conversationId)).toEqual(Array(3).fill(conversationId));
      await unnamed.alarm();
      return history
        .prepare("SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq")
        .bind(conversationId)
        .all<{ seq: number }>();
    });
    expect(flushed.results.map((r) => r.seq)).toEqual([1, 2, 3]);
  });
});

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
      groupState: state.storage.sql.exec("SELECT key FROM group_state ORDER BY key").toArray(),
    }));
    // The old key stays, unread, for the previous deploy should it be rolled back to.
    expect(stored).toEqual({
      blocks: [{ user_id: b.userId }],
      groupState: [{ key: `blocks:${b.userId}` }, { key: "muteAll" }],
    });

    expect((await api("/api/friend/unblock", { body: { userID: a.userId }, token: b.token })).body.code).toBe(
      0,
    );
    expect((await aSocket.sendText(a.userId, b.userId, "again")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    aSocket.close();
  });
});
