// The usage meter (src/lib/usage-meter.ts): object invocations counted by object and kind as real
// calls arrive, and, with USAGE_METER on, the rows the objects' SQLite and D1 write. The sparse
// benchmark divides these by the messages delivered, so a count that misses or doubles is a wrong
// cost table.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Cmd } from "../../src/protocol/codec";
import { meteredD1, meteredStorage, usageSnapshot, type Usage } from "../../src/lib/usage-meter";
import { api, newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

const METER_ON = { USAGE_METER: "true" };

function grew(before: Usage, after: Usage, key: string): number {
  return (after.invocations[key] ?? 0) - (before.invocations[key] ?? 0);
}

describe("the usage meter", () => {
  it("counts frames and RPC calls as a message travels", async () => {
    const [a, b] = [await newUser("meter-a"), await newUser("meter-b")];
    const sender = await TestSocket.connect(a, "iOS");
    const receiver = await TestSocket.connect(b, "iOS");
    const before = usageSnapshot();
    await sender.sendText(a.userId, b.userId, "counted");
    await receiver.nextCommand(Cmd.CMD_PUSH_MSG);
    const after = usageSnapshot();
    expect(grew(before, after, "user.frame")).toBe(1); // the SEND; the receiver has not acked
    expect(grew(before, after, "conversation.rpc")).toBeGreaterThanOrEqual(1); // send()
    expect(grew(before, after, "user.rpc")).toBeGreaterThanOrEqual(1); // deliver()
  });

  it("counts the rows an object's SQL writes, and its alarm writes, only when on", async () => {
    const stub = env.CONVERSATION_OBJECT.getByName("meter-probe");
    await runInDurableObject(stub, async (_instance, state) => {
      expect(meteredStorage(state.storage, {})).toBe(state.storage);
      const storage = meteredStorage(state.storage, METER_ON);
      storage.sql.exec("CREATE TABLE IF NOT EXISTS meter_probe (x INTEGER)");
      const before = usageSnapshot();
      storage.sql.exec("INSERT INTO meter_probe (x) VALUES (1), (2), (3)");
      expect(storage.sql.exec("SELECT count(*) AS n FROM meter_probe").one().n).toBe(3); // a read
      storage.transactionSync(() => storage.sql.exec("DELETE FROM meter_probe WHERE x = 1"));
      await storage.setAlarm(Date.now() + 60_000);
      await storage.deleteAlarm();
      const after = usageSnapshot();
      expect(after.storageWriteStatements - before.storageWriteStatements).toBe(2);
      expect(after.storageRowsWritten - before.storageRowsWritten).toBe(4);
      expect(after.alarmWrites - before.alarmWrites).toBe(2);
    });
  });

  it("counts D1 statements and rows written, in batches too", async () => {
    expect(meteredD1(env.DB, {})).toBe(env.DB);
    const db = meteredD1(env.DB, METER_ON);
    await db.prepare("CREATE TABLE IF NOT EXISTS meter_probe (x INTEGER)").run();
    const before = usageSnapshot();
    await db.prepare("INSERT INTO meter_probe (x) VALUES (?), (?)").bind(1, 2).run();
    await db.batch([
      db.prepare("INSERT INTO meter_probe (x) VALUES (?)").bind(3),
      db.prepare("UPDATE meter_probe SET x = x + 10 WHERE x < 3"),
    ]);
    const after = usageSnapshot();
    expect(after.d1Calls - before.d1Calls).toBe(2); // a batch is one round trip
    expect(after.d1Statements - before.d1Statements).toBe(3);
    expect(after.d1RowsWritten - before.d1RowsWritten).toBe(5);
  });

  it("is served at /debug/usage only when USAGE_METER is set", async () => {
    const response = await api("/debug/usage");
    expect(response.status).toBe(404);
    expect(response.body.code).toBe(404);
  });
});
