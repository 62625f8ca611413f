// The object's one alarm (src/objects/conversation/alarm-clock.ts) never moves later than the
// soonest time armed. After a restart the clock must first read the stored alarm: two arms in one
// turn share that read, so the later one cannot take the time from before the first one's set.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AlarmClock } from "../../src/objects/conversation/alarm-clock";

describe("the alarm clock", () => {
  it("keeps the sooner of two times armed in one turn after a restart", async () => {
    await runInDurableObject(env.CONVERSATION_OBJECT.getByName("alarm-clock-race"), async (_i, state) => {
      await state.storage.deleteAlarm();
      const now = Date.now();
      const clock = new AlarmClock(state.storage); // a restart: the clock knows no alarm yet
      await Promise.all([clock.arm(now + 5_000), clock.arm(now + 8_000)]);
      expect(await state.storage.getAlarm()).toBe(now + 5_000);
      // And the other order: the sooner time, armed second, moves it.
      const again = new AlarmClock(state.storage);
      await Promise.all([again.arm(now + 9_000), again.arm(now + 4_000)]);
      expect(await state.storage.getAlarm()).toBe(now + 4_000);
      await state.storage.deleteAlarm();
    });
  });
});
