// withTimeout (src/lib/with-timeout.ts), which bounds the history writer's and the Queue's calls:
// the work's answer when it comes in time, the late answer or the late error when it does not.
import { describe, expect, it } from "vitest";
import { withTimeout } from "../../src/lib/with-timeout";

const never = new Promise<string>(() => {});
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("withTimeout", () => {
  it("answers with the work when it comes in time", async () => {
    expect(await withTimeout(after(5, "work"), 1_000, () => "late")).toBe("work");
  });

  it("answers late() when the work does not come in time", async () => {
    expect(await withTimeout(never, 10, () => "late")).toBe("late");
  });

  it("rejects with what late() throws, and with what the work rejects", async () => {
    await expect(
      withTimeout(never, 10, () => {
        throw new Error("no answer");
      }),
    ).rejects.toThrow("no answer");
    await expect(withTimeout(Promise.reject(new Error("refused")), 1_000, () => "late")).rejects.toThrow(
      "refused",
    );
  });
});
