// Structured logs (src/observability/log.ts): a whole client session (register, log in, a refused
// login, a socket that authenticates, sends, is refused, syncs, revokes, and closes, a logout) leaves
// JSON lines for the events that matter, with ids, and never a token, a password or a message's
// content anywhere in what was logged.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Cmd, Err, pb } from "../../src/protocol/codec";
import { singleConversationId } from "../../src/protocol/conversation-id";
import { api, newUser } from "./helpers/http";
import { loggedEvents } from "./helpers/logs";
import { revoke, syncRange } from "./helpers/protocol";
import { TestSocket } from "./helpers/socket";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the log of a client session", () => {
  it("has a line for each event that matters and no token, password or content", async () => {
    const spies = [
      vi.spyOn(console, "log"),
      vi.spyOn(console, "info"),
      vi.spyOn(console, "warn"),
      vi.spyOn(console, "error"),
    ];
    const secretText = `a private message ${crypto.randomUUID()}`;
    const [a, b] = [await newUser("log-a"), await newUser("log-b")];
    const wrongPassword = `wrong-${crypto.randomUUID()}`;
    await api("/api/auth/login", {
      body: { username: a.username, password: wrongPassword, platform: "iOS" },
    });

    const socket = await TestSocket.connect(a);
    const peer = await TestSocket.connect(b);
    const conversationId = singleConversationId(a.userId, b.userId);
    const ack = await socket.sendText(a.userId, b.userId, secretText);
    await peer.pushedMessages(1);
    // A refused request: a send whose conversation does not match its receiver.
    const refused = await socket.sendText(a.userId, "someone-else", "never stored");
    expect(refused.errorCode).not.toBe(Err.ERR_SUCCESS);
    await syncRange(socket, conversationId, 1, Number(ack.seq));
    expect((await revoke(socket, conversationId, ack.serverMsgId!)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    // A second socket whose AUTH carries a bad token is refused and closed.
    const stranger = await TestSocket.open(b.token, "&platform=Android");
    stranger.send(Cmd.CMD_AUTH_REQ, pb.AuthRequest, { userId: b.userId, token: `${a.token}x` });
    await stranger.nextCommand(Cmd.CMD_AUTH_RSP);
    socket.close();
    peer.close();
    await api("/api/auth/logout", { body: {}, token: a.token });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the closes reach their objects

    const everything = spies
      .flatMap((spy) => spy.mock.calls.map((call) => call.map(String).join(" ")))
      .join("\n");
    for (const secret of [a.token, a.refreshToken, b.token, a.password, wrongPassword, secretText]) {
      expect(everything).not.toContain(secret);
    }
    const events = loggedEvents(...spies);
    const of = (event: string) => events.filter((line) => line.event === event);
    expect(of("socket_opened")).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: a.userId, platform: expect.any(String) })]),
    );
    expect(of("socket_closed")).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: a.userId, code: expect.any(Number) })]),
    );
    expect(of("request_refused")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: a.userId, command: Cmd.CMD_SEND_MSG_REQ, code: refused.errorCode }),
      ]),
    );
    expect(of("auth_refused").length).toBeGreaterThanOrEqual(1);
    for (const line of events) {
      expect(["info", "warn", "error"]).toContain(line.level);
      if (line.command !== undefined) expect(line.requestId).toMatch(/:/);
    }
  });
});
