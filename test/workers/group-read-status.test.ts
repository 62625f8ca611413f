// Group read status (review issue 12, item 14): read counts for a page of the sender's own messages
// come from one indexed pass over the members, not one scan of every member per message.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSettings } from "../../src/config/settings";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import { READERS_SQL, READ_COUNTS_SQL } from "../../src/objects/conversation/read-status";
import type { SendInput } from "../../src/objects/rpc";
import { createGroup, sendToGroup } from "./helpers/groups";
import { newUser } from "./helpers/http";
import { syncRange } from "./helpers/protocol";
import { connectRich } from "./helpers/rich-wire";

const stubOf = (groupId: string) => env.CONVERSATION_OBJECT.getByName(`group_${groupId}`);

describe("group read status", () => {
  it("counts and names exactly the members who read each of the sender's messages", async () => {
    const [owner, ...others] = [
      await newUser("o"),
      await newUser("a"),
      await newUser("b"),
      await newUser("c"),
      await newUser("d"),
    ];
    const group = await createGroup(owner, others);
    const conversationId = `group_${group.groupID}`;
    // read_count is an extension: only a socket that declared rich_messages gets it.
    const socket = await connectRich(owner);
    const acks: Awaited<ReturnType<typeof sendToGroup>>[] = [];
    for (let i = 0; i < 5; i++) acks.push(await sendToGroup(socket, group.groupID, `m${i}`));
    // a read up to the 1st, b to the 3rd, c to the 5th, d nothing; the owner (the sender) to the 5th.
    const reads: [number, number][] = [
      [0, 0],
      [1, 2],
      [2, 4],
    ];
    await runInDurableObject(stubOf(group.groupID), async (instance: ConversationObject) => {
      for (const [who, upTo] of reads) {
        await instance.markRead({
          userId: others[who]!.userId,
          serverMsgIds: [acks[upTo]!.serverMsgId!],
        });
      }
      await instance.markRead({ userId: owner.userId, serverMsgIds: [] });
    });
    const expected = [
      [others[0]!, others[1]!, others[2]!],
      [others[1]!, others[2]!],
      [others[1]!, others[2]!],
      [others[2]!],
      [others[2]!],
    ].map((users) => users.map((u) => u.userId).sort());

    const view = async () => {
      const page = await syncRange(socket, conversationId, Number(acks[0]!.seq), Number(acks[4]!.seq));
      return page.messages!.map((m) => ({
        count: m.readCount,
        readers: [...(m.readBy ?? [])].sort(),
        status: m.status,
      }));
    };
    expect(await view()).toEqual(expected.map((readers) => ({ count: readers.length, readers, status: 3 })));

    // Past the receipt size setting: counts only, the same numbers.
    await runInDurableObject(stubOf(group.groupID), (instance) => {
      instance["settingsCache"] = { ...readSettings(env), groupReceiptMaxMembers: 2 };
    });
    expect(await view()).toEqual(
      expected.map((readers) => ({ count: readers.length, readers: [], status: 3 })),
    );
    socket.close();
  });

  it("reads the members by index: no table scan, one pass for a 500-message page of a 2,000-member group", async () => {
    const owner = await newUser("o");
    const group = await createGroup(owner, []);
    await runInDurableObject(stubOf(group.groupID), async (instance: ConversationObject, state) => {
      const sql = state.storage.sql;
      for (const query of [READ_COUNTS_SQL, READERS_SQL]) {
        const plan = sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, 1)
          .toArray()
          .map((r) => r.detail)
          .join("; ");
        expect(plan).toMatch(/USING COVERING INDEX members_read/);
        expect(plan).not.toMatch(/SCAN members/);
      }

      // 2,000 members who read various amounts, then 500 messages from the owner.
      for (let i = 0; i < 1999; i++) {
        sql.exec(
          "INSERT INTO members (user_id, role, first_seq, read_seq, delivered_seq, fanout_seq) VALUES (?, 0, 1, ?, 0, 1000000)",
          `seeded${i}`,
          i % 600,
        );
      }
      const inputs: SendInput[] = Array.from({ length: 500 }, (_, i) => ({
        senderId: owner.userId,
        receiverId: "",
        clientMsgId: `page-${i}`,
        messageType: 1,
        content: new TextEncoder().encode(`m${i}`),
        sendTime: Date.now(),
        extra: "",
        attachedInfo: "",
        originSession: "",
      }));
      const sent = await instance.send(inputs);
      expect(sent.results.every((r) => r.ok)).toBe(true);
      instance["settingsCache"] = { ...readSettings(env), groupReceiptMaxMembers: 1 };

      // Count the rows SQLite reads while the page is annotated.
      let rowsRead = 0;
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
        const cursor = exec(query, ...bindings);
        const toArray = cursor.toArray.bind(cursor);
        cursor.toArray = () => {
          const rows = toArray();
          rowsRead += cursor.rowsRead;
          return rows;
        };
        return cursor;
      }) as typeof sql.exec;
      try {
        const page = await instance.read({
          userId: owner.userId,
          fromSeq: 2,
          toSeq: 501,
          limit: 500,
          newest: false,
          maxBytes: 1 << 30,
        });
        if (!page.ok) throw new Error(page.message);
        expect(page.messages).toHaveLength(500);
        // Member i read up to i % 600: message seq s was read by the seeded members with i % 600 >= s.
        for (const m of page.messages) {
          const readers = Array.from({ length: 1999 }, (_, i) => i % 600).filter((r) => r >= m.seq).length;
          expect(m.readCount, `seq ${m.seq}`).toBe(readers);
        }
      } finally {
        sql.exec = exec;
      }
      // The messages themselves plus one pass over the members: nowhere near 500 × 2,000.
      expect(rowsRead).toBeLessThan(500 + 2 * 2000);
    });
  });
});
