// The command table (src/objects/user/commands.ts): every request the protocol has is in it, and
// what it says about each agrees with how the server refuses that request.
import { describe, expect, it } from "vitest";
import { Cmd } from "../../src/protocol/codec";
import { REFUSAL_RESPONSES } from "../../src/protocol/refusals";
import { CLIENT_COMMANDS, commandSpec } from "../../src/objects/user/commands";

const commandNames = Object.keys(Cmd).filter((name) => Number.isNaN(Number(name)));
const numberOf = (name: string) => (Cmd as unknown as Record<string, number>)[name] as number;

describe("the command table", () => {
  it("has an entry for every request a client can send, and only those", () => {
    // Chatroom requests belong on the room socket (src/objects/chatroom/relay-commands.ts), not /ws.
    const requests = commandNames.filter(
      (name) => (name.endsWith("_REQ") || name === "CMD_MSG_ACK") && !name.startsWith("CMD_CHATROOM_"),
    );
    expect(requests.length).toBeGreaterThan(10);
    expect([...CLIENT_COMMANDS.keys()].sort((a, b) => a - b)).toEqual(
      requests.map(numberOf).sort((a, b) => a - b),
    );
  });

  it("names each request's answer as the refusals do", () => {
    for (const [command, spec] of CLIENT_COMMANDS) {
      const refusal = REFUSAL_RESPONSES[command];
      if (refusal) expect(spec.response, Cmd[command]).toBe(refusal.command);
      if (spec.response !== null) expect(Cmd[spec.response], Cmd[command]).toMatch(/_RSP$/);
    }
  });

  it("needs AUTH for everything but the connection's own commands", () => {
    const open = [...CLIENT_COMMANDS].filter(([, spec]) => !spec.needsAuth).map(([c]) => Cmd[c]);
    expect(open.sort()).toEqual(
      ["CMD_AUTH_REQ", "CMD_CONNECT_REQ", "CMD_DISCONNECT_REQ", "CMD_HEARTBEAT_REQ", "CMD_REAUTH_REQ"].sort(),
    );
  });

  it("tells a server's command from a number the protocol does not have", () => {
    const pushed = commandSpec(Cmd.CMD_PUSH_MSG);
    expect(pushed).not.toBeNull();
    expect(pushed?.needsAuth).toBe(true);
    expect(commandSpec(Cmd.CMD_UNKNOWN)).not.toBeNull();
    expect(commandSpec(9_999)).toBeNull();
    expect(commandSpec(-1)).toBeNull();
  });
});
