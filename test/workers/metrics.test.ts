// Metrics (src/observability/metrics.ts): the data points a message's path writes to Analytics
// Engine, and that a binding that fails never fails a send. Analytics Engine has no local read API,
// so the dataset is replaced by one that keeps what it is given, as the real one would store it.
import { afterEach, describe, expect, it } from "vitest";
import { Metric, replaceMetricsDataset } from "../../src/observability/metrics";
import { Err } from "../../src/protocol/codec";
import { newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

interface Point {
  metric: string;
  dimension: string;
  count: number;
  value: number;
}

let restore: AnalyticsEngineDataset | undefined;
afterEach(() => {
  replaceMetricsDataset(restore);
});

function recording(): Point[] {
  const points: Point[] = [];
  restore = replaceMetricsDataset({
    writeDataPoint(point?: AnalyticsEngineDataPoint) {
      const [metric, dimension] = (point?.blobs ?? []) as string[];
      const [count, value] = point?.doubles ?? [];
      expect(point?.indexes).toEqual([metric]);
      points.push({ metric: metric ?? "", dimension: dimension ?? "", count: count ?? 0, value: value ?? 0 });
    },
  });
  return points;
}

describe("metrics", () => {
  it("count a message sent, delivered and written to D1, a socket opened, and a refusal by its code", async () => {
    const points = recording();
    const [a, b] = [await newUser("metrics-a"), await newUser("metrics-b")];
    const sender = await TestSocket.connect(a);
    const receiver = await TestSocket.connect(b);
    await sender.sendText(a.userId, b.userId, "counted");
    await receiver.pushedMessages(1);
    const refused = await sender.sendText(a.userId, "nobody-here", "refused");
    expect(refused.errorCode).not.toBe(Err.ERR_SUCCESS);
    await expect
      .poll(() => points.some((p) => p.metric === Metric.historyWritten), { timeout: 5_000 })
      .toBe(true);
    const of = (metric: string) => points.filter((p) => p.metric === metric);
    expect(of(Metric.socketsOpened).filter((p) => p.dimension === "iOS").length).toBeGreaterThanOrEqual(2);
    expect(of(Metric.messagesSent)).toContainEqual({
      metric: Metric.messagesSent,
      dimension: "single",
      count: 1,
      value: 0,
    });
    expect(of(Metric.messagesDelivered)).toContainEqual(
      expect.objectContaining({ dimension: "single", count: 1 }),
    );
    expect(of(Metric.refusals)).toContainEqual(
      expect.objectContaining({ dimension: String(refused.errorCode), count: 1 }),
    );
    const lag = of(Metric.historyLag);
    expect(lag.length).toBeGreaterThan(0);
    expect(lag.every((p) => p.value >= 0 && p.value < 60_000)).toBe(true);
    sender.close();
    receiver.close();
  });

  it("never fail a send when the binding fails", async () => {
    restore = replaceMetricsDataset({
      writeDataPoint() {
        throw new Error("Analytics Engine refused the point");
      },
    });
    const [a, b] = [await newUser("metrics-c"), await newUser("metrics-d")];
    const sender = await TestSocket.connect(a);
    const ack = await sender.sendText(a.userId, b.userId, "still sent");
    expect(ack.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    sender.close();
  });
});
