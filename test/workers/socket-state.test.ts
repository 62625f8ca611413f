// A socket's attachment (src/objects/user/socket-state.ts) carries a layout version, and a socket
// accepted before the attachment had one (version 0) is still read after the object wakes.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Err } from "../../src/protocol/codec";
import { ATTACHMENT_VERSION } from "../../src/objects/user/socket-state";
import { newUser } from "./helpers/http";
import { TestSocket } from "./helpers/socket";

describe("socket attachments", () => {
  it("are written with their layout version", async () => {
    const a = await newUser("att");
    await TestSocket.connect(a);
    const attachments = await runInDurableObject(env.USER_OBJECT.getByName(a.userId), (_object, state) =>
      state.getWebSockets().map((ws) => ws.deserializeAttachment() as Record<string, unknown>),
    );
    expect(attachments).toHaveLength(1);
    expect(attachments[0]).toMatchObject({ v: ATTACHMENT_VERSION, userId: a.userId, authed: true });
  });

  it("of version 0 (no version) are read after a wake, the socket still authenticated", async () => {
    const [a, b] = [await newUser("att0"), await newUser("att0b")];
    const sender = await TestSocket.connect(a);
    const user = env.USER_OBJECT.getByName(a.userId);
    await runInDurableObject(user, (_object, state) => {
      for (const ws of state.getWebSockets()) {
        const older = ws.deserializeAttachment() as Record<string, unknown>;
        delete older.v;
        ws.serializeAttachment(older);
      }
    });
    await evictDurableObject(user);
    const sent = await sender.sendText(a.userId, b.userId, "after a wake");
    expect(sent.errorCode ?? Err.ERR_SUCCESS).toBe(Err.ERR_SUCCESS);
    expect(sent.seq).toBe(1);
  });

  it("of a newer version (a deploy rolled back) make the socket authenticate again", async () => {
    const [a, b] = [await newUser("att-new"), await newUser("att-newb")];
    const sender = await TestSocket.connect(a);
    const user = env.USER_OBJECT.getByName(a.userId);
    await runInDurableObject(user, (_object, state) => {
      for (const ws of state.getWebSockets()) {
        const newer = ws.deserializeAttachment() as Record<string, unknown>;
        ws.serializeAttachment({ ...newer, v: ATTACHMENT_VERSION + 1 });
      }
    });
    await evictDurableObject(user);
    expect((await sender.sendText(a.userId, b.userId, "unread")).errorCode).toBe(Err.ERR_AUTH_FAILED);
    expect((await sender.auth(a.userId, a.token)).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const sent = await sender.sendText(a.userId, b.userId, "after AUTH");
    expect(sent.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    expect(sent.seq).toBe(1);
  });
});
