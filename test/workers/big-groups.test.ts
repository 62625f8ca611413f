// Big groups (issue 14, item 3): a message to a group of 2,000 members costs one delivery per member
// and nothing else per member: a delivery carries only its message's bytes, and the fan-out's
// watermarks are written as one floor row per save, not one row per member.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { meteredStorage, usageSnapshot } from "../../src/lib/usage-meter";
import { FANOUT_ROW_AHEAD, MemberStore } from "../../src/objects/conversation/member-store";
import { newMessageFromSend, storedMessage, toDelivered } from "../../src/objects/message";
import { migrate } from "../../src/objects/sql-migrations";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import type { SendInput } from "../../src/objects/rpc";
import { ConversationType } from "../../src/protocol/conversation-id";
import { createGroup } from "./helpers/groups";
import { newUser } from "./helpers/http";

const METER_ON = { USAGE_METER: "true" };
const MEMBERS = 2_000;
const ids = Array.from({ length: MEMBERS }, (_, i) => `member${i}`);

describe("big groups", () => {
  it("deliver a message in a buffer of its own, so each member's call carries only its bytes", () => {
    const message = storedMessage(
      newMessageFromSend(
        {
          senderId: "s",
          receiverId: "",
          clientMsgId: "c1",
          messageType: 1,
          content: new TextEncoder().encode("hello"),
          sendTime: 1,
          extra: "",
          attachedInfo: "",
          originSession: "",
        },
        "01JAAAAAAAAAAAAAAAAAAAAAAA",
        1,
      ),
      1,
      { conversationId: "group_g", conversationType: ConversationType.group, groupId: "g" },
    );
    const { info } = toDelivered(message);
    // An RPC argument carries a Uint8Array's whole buffer: the encoder's shared 8 KiB pool otherwise.
    expect(info.byteLength).toBeLessThan(200);
    expect(info.buffer.byteLength).toBe(info.byteLength);
  });

  it("write one floor row for a message that moved every member's fan-out, and resume from it", async () => {
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName("fanout-floor-probe"), (_instance, state) => {
      const storage = meteredStorage(state.storage, METER_ON);
      const members = new MemberStore(storage);
      for (const id of ids) members.join(id, 0, 1);
      members.join("departed", 0, 1);
      members.leave("departed", 3);
      const rowsWritten = (save: () => void) => {
        const before = usageSnapshot().storageRowsWritten;
        save();
        return usageSnapshot().storageRowsWritten - before;
      };
      const restarted = () => new MemberStore(storage);

      // Message 5 reached every member (the departed one up to where it left).
      for (const id of ids) members.setFanoutSeq(id, 5);
      members.setFanoutSeq("departed", 3);
      expect(rowsWritten(() => members.saveFanout())).toBe(1);
      let after = restarted();
      expect(ids.every((id) => after.get(id)?.fanoutSeq === 5)).toBe(true);
      expect(after.get("departed")?.fanoutSeq).toBe(3);
      expect(after.lagging(5)).toEqual([]);

      // One member falls behind: the floor stays, the others' lead is within a call's worth.
      const [behind, ...ahead] = ids as [string, ...string[]];
      for (const id of ahead) members.setFanoutSeq(id, 5 + FANOUT_ROW_AHEAD);
      expect(rowsWritten(() => members.saveFanout())).toBe(0);
      after = restarted();
      expect(after.lagging(5 + FANOUT_ROW_AHEAD)).toHaveLength(MEMBERS); // repeats, never a skip
      expect(ahead.every((id) => after.get(id)!.fanoutSeq >= 5)).toBe(true);

      // Further ahead than that, each writes its own row: a restart repeats at most one call to it.
      for (const id of ahead) members.setFanoutSeq(id, 6 + FANOUT_ROW_AHEAD);
      expect(rowsWritten(() => members.saveFanout())).toBe(MEMBERS - 1);
      after = restarted();
      expect(after.lagging(6 + FANOUT_ROW_AHEAD)).toEqual([behind]);

      // While it stays behind, the others write their rows once per FANOUT_ROW_AHEAD messages, not
      // at every save (that would be one row per member per message again).
      for (let seq = 7 + FANOUT_ROW_AHEAD; seq <= 6 + 2 * FANOUT_ROW_AHEAD; seq++) {
        for (const id of ahead) members.setFanoutSeq(id, seq);
        expect(rowsWritten(() => members.saveFanout())).toBe(0);
      }
      after = restarted();
      expect(ahead.every((id) => after.get(id)!.fanoutSeq === 6 + FANOUT_ROW_AHEAD)).toBe(true); // one call's worth
      for (const id of ahead) members.setFanoutSeq(id, 7 + 2 * FANOUT_ROW_AHEAD);
      expect(rowsWritten(() => members.saveFanout())).toBe(MEMBERS - 1);
      after = restarted();
      expect(after.lagging(7 + 2 * FANOUT_ROW_AHEAD)).toEqual([behind]);

      // It catches up: the floor moves, one row.
      members.setFanoutSeq(behind, 7 + 2 * FANOUT_ROW_AHEAD);
      expect(rowsWritten(() => members.saveFanout())).toBe(1);
      expect(restarted().lagging(7 + 2 * FANOUT_ROW_AHEAD)).toEqual([]);
    });
  });

  it("arm no save for fan-out moves within FANOUT_ROW_AHEAD of the stored floor, and save a member past it at once", async () => {
    await runInDurableObject(
      env.CONVERSATION_OBJECT.getByName("fanout-save-probe"),
      async (_instance, state) => {
        const storage = meteredStorage(state.storage, METER_ON);
        const members = new MemberStore(storage);
        members.join("a", 0, 1);
        members.join("b", 0, 1);
        const save = () => members["fanoutWrite"] as unknown as { timer: unknown; queued: boolean };
        const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
        // A one-to-one's messages: each move is one message, and a save would write nothing.
        for (let seq = 1; seq <= 20; seq++) {
          members.setFanoutSeq("a", seq);
          members.setFanoutSeq("b", seq);
          expect([save().timer, save().queued]).toEqual([null, false]);
        }
        await turn();
        expect(new MemberStore(storage).get("a")?.fanoutSeq).toBe(0); // the alarm's save keeps the rest

        // One member runs past: its row is written at the end of the turn, with no alarm.
        const before = usageSnapshot().storageRowsWritten;
        members.setFanoutSeq("a", FANOUT_ROW_AHEAD + 1);
        await turn();
        expect(usageSnapshot().storageRowsWritten - before).toBe(1);
        expect(new MemberStore(storage).get("a")?.fanoutSeq).toBe(FANOUT_ROW_AHEAD + 1);
      },
    );
  });

  it("wake a member's object with one read of its schema versions, not two statements per store", async () => {
    // Every message to a quiet big group wakes most members' objects, and each builds every store.
    await runInDurableObject(env.USER_OBJECT.getByName("schema-probe"), async (_instance, state) => {
      await Promise.resolve(); // a turn after the constructor's own migrations
      let statements = 0;
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
        statements++;
        return exec(query, ...bindings);
      }) as typeof sql.exec;
      try {
        for (const name of ["probe_a", "probe_b", "probe_c"]) migrate(state.storage.sql, name, []);
        expect(statements).toBe(2); // the table, once; the versions, once
        statements = 0;
        migrate(state.storage.sql, "probe_d", [`CREATE TABLE probe_d (x INTEGER)`]);
        expect(statements).toBe(2); // its one step and its version
        await Promise.resolve();
        // A later turn reads again: a version rewound meanwhile (as tests do) is seen.
        exec("DELETE FROM _schema WHERE name = 'probe_d'");
        exec("DROP TABLE probe_d");
        migrate(state.storage.sql, "probe_d", [`CREATE TABLE probe_d (x INTEGER)`]);
        expect(exec("SELECT count(*) AS n FROM probe_d").one().n).toBe(0);
      } finally {
        sql.exec = exec;
      }
    });
  });

  it("start only the idle pumps on a send, and finish it when some members already have everything", async () => {
    const owner = await newUser("o");
    const group = await createGroup(owner, [await newUser("m")]);
    const stub = env.CONVERSATION_OBJECT.getByName(`group_${group.groupID}`);
    const outcome = await runInDurableObject(stub, async (instance: ConversationObject, state) => {
      // Two members whose objects already have every message to come: their pumps end at once.
      for (const id of ["ahead1", "ahead2"]) {
        state.storage.sql.exec(
          "INSERT INTO members (user_id, role, first_seq, fanout_seq) VALUES (?, 0, 1, 1000000)",
          id,
        );
      }
      (instance as unknown as { c: { members: { cache: unknown } } }).c.members.cache = null;
      const input: SendInput = {
        senderId: owner.userId,
        receiverId: "",
        clientMsgId: "idle-1",
        messageType: 1,
        content: new TextEncoder().encode("hi"),
        sendTime: Date.now(),
        extra: "",
        attachedInfo: "",
        originSession: "",
      };
      return instance.send([input]);
    });
    expect(outcome.results.map((r) => r.ok)).toEqual([true]);
  });
});
