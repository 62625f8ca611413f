// The structured log lines (src/observability/log.ts) a console spy caught, parsed; anything else
// (a line from the runtime, a test's own output) is skipped.
import type { MockInstance } from "vitest";

export type LogLine = Record<string, unknown> & { level: string; event: string };

export function loggedEvents(...spies: MockInstance[]): LogLine[] {
  const lines: LogLine[] = [];
  for (const spy of spies) {
    for (const call of spy.mock.calls) {
      try {
        const parsed: unknown = JSON.parse(String(call[0]));
        if (parsed && typeof parsed === "object" && "event" in parsed) lines.push(parsed as LogLine);
      } catch {
        // not one of ours
      }
    }
  }
  return lines;
}
