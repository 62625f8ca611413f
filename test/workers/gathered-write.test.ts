// Writes that gather while busy and cost no timer while quiet (src/lib/gathered-write.ts): a quiet
// device's cursor and a quiet conversation's fan-out floor are written at the end of the turn that
// moved them, with no timer left pending (a pending timer keeps an object awake, and each timer
// that fires is an invocation of its own); moves that follow within the window wait for it, gathered.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GatheredWrite } from "../../src/lib/gathered-write";
import { CURSOR_FLUSH_MS, DeviceCursors } from "../../src/objects/user/device-cursors";

afterEach(() => {
  vi.useRealTimers();
});

describe("gathered writes", () => {
  it("run at the end of the turn when quiet, once for the turn's requests, and within the window when busy", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    let writes = 0;
    const write = new GatheredWrite(1_000, () => writes++);
    write.request();
    write.request();
    expect(writes).toBe(0); // not inside the turn: what else the turn moves goes with it
    expect(vi.getTimerCount()).toBe(0);
    await Promise.resolve();
    expect(writes).toBe(1);
    // Busy: within the window after a write, requests wait for the rest of it, gathered.
    await vi.advanceTimersByTimeAsync(300);
    write.request();
    write.request();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(699);
    expect(writes).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toBe(2);
    // `now` writes at once and takes the pending timer with it.
    write.request();
    expect(vi.getTimerCount()).toBe(1);
    write.now();
    expect(writes).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
    // Quiet again: at the end of the turn.
    await vi.advanceTimersByTimeAsync(5_000);
    write.request();
    await Promise.resolve();
    expect(writes).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("write a quiet device's cursor in the turn of its send, with no timer pending", async () => {
    await runInDurableObject(env.USER_OBJECT.getByName("gathered-cursor-user"), async (_instance, state) => {
      vi.useFakeTimers({ now: 2_000_000 });
      const cursors = new DeviceCursors(state.storage.sql);
      const row = () =>
        state.storage.sql
          .exec<{ seq: number }>(
            "SELECT seq FROM device_cursors WHERE device = 'd:ios' AND conversation_id = 'c1'",
          )
          .toArray()[0]?.seq;
      cursors.sent("d:ios", "c1", 1);
      await Promise.resolve();
      expect(row()).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
      // The next move within the window is gathered with those after it.
      cursors.sent("d:ios", "c1", 2);
      cursors.sent("d:ios", "c1", 3);
      await Promise.resolve();
      expect(row()).toBe(1);
      await vi.advanceTimersByTimeAsync(CURSOR_FLUSH_MS);
      expect(row()).toBe(3);
    });
  });
});
