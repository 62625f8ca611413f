// The sender's own new messages reach the user's other devices from the answer to the send, not
// from a delivery (src/objects/user/own-sends.ts): rebuilt from what the device sent and what the
// conversation assigned, with the builders the conversation stored them with, they must be the
// stored message to the byte, as the fan-out delivers it to anyone else.
import { describe, expect, it } from "vitest";
import { Cmd } from "../../src/protocol/codec";
import { newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

describe("the sender's own copy", () => {
  it("is the stored message to the byte, as the peer gets it from the fan-out", async () => {
    const [a, b] = [await newUser("own"), await newUser("own-peer")];
    const phone = await TestSocket.connect(a, "iOS");
    const desk = await TestSocket.connect(a, "Android");
    const peer = await TestSocket.connect(b, "iOS");
    const sent = await phone.sendText(a.userId, b.userId, "the same bytes everywhere");
    const own = await desk.nextCommand(Cmd.CMD_PUSH_MSG);
    const theirs = await peer.nextCommand(Cmd.CMD_PUSH_MSG);
    expect(sent.seq).toBe(1);
    expect(own.body.byteLength).toBeGreaterThan(0);
    expect(Buffer.from(own.body).toString("hex")).toBe(Buffer.from(theirs.body).toString("hex"));
  });
});
