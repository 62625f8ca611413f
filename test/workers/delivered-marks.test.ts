// Delivered marks (src/objects/user/delivered-marks.ts): a quiet user's mark goes out at the end of
// the turn, not a second later (a pending timer keeps the object awake, and an awake object's wall
// time is billed); a busy user's acks still go out at most once a second, gathered; a group's acks
// mark nothing. The outgoing call is recorded instead of made.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DELIVERED_FLUSH_MS, DeliveredMarks } from "../../src/objects/user/delivered-marks";

afterEach(() => {
  vi.useRealTimers();
});

describe("delivered marks", () => {
  it("are written at the end of the turn when the user is quiet, and gathered for a second when busy", async () => {
    const calls: { conversationId: string; seq: number }[] = [];
    const recording = {
      ...env,
      CONVERSATION_OBJECT: {
        getByName: (conversationId: string) => ({
          markDelivered: async (_userId: string, seq: number) => {
            calls.push({ conversationId, seq });
          },
        }),
      },
    } as unknown as Env;
    const stub = env.USER_OBJECT.getByName("marks-user");
    await runInDurableObject(stub, async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const marks = new DeliveredMarks(recording);
      // Quiet: two acks in one turn, one call each conversation, with no second's wait.
      marks.mark("marks-user", "single_x_y", 1);
      marks.mark("marks-user", "single_x_y", 2);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toEqual([{ conversationId: "single_x_y", seq: 2 }]);
      // Busy: acks within the second after a write wait for the rest of it, gathered.
      await vi.advanceTimersByTimeAsync(200);
      marks.mark("marks-user", "single_x_y", 3);
      marks.mark("marks-user", "single_x_y", 4);
      await vi.advanceTimersByTimeAsync(DELIVERED_FLUSH_MS - 200 - 1);
      expect(calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toEqual([
        { conversationId: "single_x_y", seq: 2 },
        { conversationId: "single_x_y", seq: 4 },
      ]);
      // Quiet again a while later: at once.
      await vi.advanceTimersByTimeAsync(5 * DELIVERED_FLUSH_MS);
      marks.mark("marks-user", "single_x_y", 5);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.at(-1)).toEqual({ conversationId: "single_x_y", seq: 5 });
    });
  });

  it("are not made for a group's acks: no call, no timer, for each member of each message", async () => {
    const calls: string[] = [];
    const recording = {
      ...env,
      CONVERSATION_OBJECT: {
        getByName: (conversationId: string) => ({
          markDelivered: async () => {
            calls.push(conversationId);
          },
        }),
      },
    } as unknown as Env;
    await runInDurableObject(env.USER_OBJECT.getByName("marks-group-user"), async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const marks = new DeliveredMarks(recording);
      marks.mark("marks-group-user", "group_g1", 1);
      marks.mark("marks-group-user", "group_g1", 2);
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(5 * DELIVERED_FLUSH_MS);
      // A one-to-one's ack beside them still goes out, alone.
      marks.mark("marks-group-user", "single_x_y", 7);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toEqual(["single_x_y"]);
    });
  });
});
