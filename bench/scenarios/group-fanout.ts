// Scenario 6, group fan-out: the hook for when groups exist (issue 6's target: one message to a
// group of 500 online members reaches the last of them within 500 ms; and sustained group msgs/s).
//
// To fill it in: create a group of `members` users through the HTTP API, connect them all, have one
// member send a stamped message (one-to-one.ts: stampedContent / sentAtOf) to `group_<id>`, and
// take the time until the last member's push; then a closed loop of sends for the sustained rate.
// The baseline counterpart is one relay object pushing to `members` other objects by RPC.
import type { ChatSystem } from "../clients/systems.ts";

export interface GroupFanoutOptions {
  members: number;
  durationMs: number;
}

/** Why the scenario is skipped, or null once the server has groups. */
export function groupFanoutSkipReason(): string | null {
  return "groups do not exist in the server yet (only one-to-one conversations)";
}

export async function groupFanout(_system: ChatSystem, _options: GroupFanoutOptions): Promise<never> {
  throw new Error(groupFanoutSkipReason() ?? "group fan-out is not written yet");
}
