// The gateway's fences for the SDK (src/gateway/commands.ts): only the commands the SDK's enum
// has go to it, and a TCP client never declares protocol extensions upstream.
import { describe, expect, it } from "vitest";
import { Cmd, pb, sdkKnows, withoutFeatures } from "../../src/gateway/commands.ts";

const commandNumbers = Object.values(Cmd).filter((v): v is number => typeof v === "number");

describe("the gateway's SDK fences", () => {
  it("passes no command numbered 1000 or more (chatrooms, rich messages) and no unknown number", () => {
    const extensions = commandNumbers.filter((c) => c >= 1000);
    expect(extensions).toContain(Cmd.CMD_MESSAGE_UPDATED_PUSH);
    expect(extensions).toContain(Cmd.CMD_PINS_PUSH);
    expect(extensions).toContain(Cmd.CMD_REACT_RSP);
    for (const command of extensions) expect(sdkKnows(command), Cmd[command]).toBe(false);
    for (const command of [7, 99, 105, 999, 1099, 1100, 1121, 5000]) expect(sdkKnows(command)).toBe(false);
    expect(sdkKnows(Cmd.CMD_PUSH_MSG)).toBe(true);
    expect(sdkKnows(Cmd.CMD_BATCH_MSG)).toBe(true);
  });

  it("strips declared features from AUTH_REQ and REAUTH_REQ, and leaves every other frame as it is", () => {
    const declared = pb.AuthRequest.encode({
      userId: "u",
      token: "t",
      platform: "iOS",
      features: ["rich_messages"],
    }).finish();
    for (const command of [Cmd.CMD_AUTH_REQ, Cmd.CMD_REAUTH_REQ]) {
      const out = pb.AuthRequest.decode(withoutFeatures({ command, sequence: 3, body: declared }).body);
      expect(out).toMatchObject({ userId: "u", token: "t", platform: "iOS", features: [] });
    }
    const plain = pb.AuthRequest.encode({ userId: "u", token: "t" }).finish();
    const frame = { command: Cmd.CMD_AUTH_REQ, sequence: 1, body: plain };
    expect(withoutFeatures(frame)).toBe(frame);
    const other = { command: Cmd.CMD_SEND_MSG_REQ, sequence: 2, body: declared };
    expect(withoutFeatures(other)).toBe(other);
  });
});
