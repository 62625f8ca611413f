// Group commands under D1 faults (review issue 12, item 13): a D1 error during a membership change
// never resets the group's object; the change holds in the object, sends and fan-out go on, and the
// alarm writes the change to D1 until it has it. When D1 commits but its reply is lost, the replay
// changes nothing, and D1 and the object agree afterwards.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ConversationObject } from "../../src/objects/conversation/conversation-object";
import { Err } from "../../src/protocol/codec";
import { injectD1Fault } from "./helpers/d1-fault";
import { createGroup, sendToGroup } from "./helpers/groups";
import { api, newUser, type TestUser } from "./helpers/http";
import { TestSocket, text } from "./helpers/socket";
import { loggedEvents } from "./helpers/logs";

const post = (path: string, user: TestUser, body?: unknown) =>
  api(path, body === undefined ? { method: "POST", token: user.token } : { body, token: user.token });

const stubOf = (groupId: string) => env.CONVERSATION_OBJECT.getByName(`group_${groupId}`);

type Probe = ConversationObject & { probe?: string };

/** Marks the live instance: a reset would start a new one without the mark. */
const mark = (groupId: string) =>
  runInDurableObject(stubOf(groupId), (instance: Probe) => {
    instance.probe = "the same instance";
  });
const sameInstance = (groupId: string) =>
  runInDurableObject(stubOf(groupId), (instance: Probe) => instance.probe === "the same instance");

/** The object's members and D1's, side by side. */
async function bothViews(groupId: string) {
  const local = await runInDurableObject(stubOf(groupId), (instance: ConversationObject) =>
    instance["c"].members
      .active()
      .map((m) => ({ user_id: m.userId, role: m.role, muted_until: m.mutedUntil }))
      .sort((a, b) => a.user_id.localeCompare(b.user_id)),
  );
  const d1 = await env.DB.prepare(
    "SELECT user_id, role, muted_until FROM group_members WHERE group_id = ? ORDER BY user_id",
  )
    .bind(groupId)
    .all();
  const count = await env.DB.prepare("SELECT member_count AS n FROM groups WHERE id = ?")
    .bind(groupId)
    .first<{ n: number }>();
  return { local, d1: d1.results, d1Count: count?.n };
}

const pendingWrites = (groupId: string) =>
  runInDurableObject(
    stubOf(groupId),
    (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM group_outbox").one().n,
  );

async function drainAlarms(groupId: string) {
  for (let runs = 0; await runDurableObjectAlarm(stubOf(groupId)); runs++) expect(runs).toBeLessThan(50);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("group commands while D1 fails", () => {
  it("keeps the object serving, holds the change, and writes it to D1 once D1 is back", async () => {
    const [owner, a, b, c, d] = await Promise.all(["o", "a", "b", "c", "d"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [a!, b!]);
    const g = group.groupID;
    const [ownerSocket, aSocket] = [await TestSocket.connect(owner!), await TestSocket.connect(a!)];
    await mark(g);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const restore = await injectD1Fault(stubOf(g), "down");

    // A command that must read D1 first (do the invitees exist?) is refused; nothing changes.
    const invite = await post(`/api/group/${g}/invite`, owner!, { userIDs: [d!.userId] });
    expect(invite.status).toBe(503);
    expect(invite.body).toMatchObject({ code: 503, message: expect.stringMatching(/nothing changed/) });

    // The others hold in the object at once; D1 gets them later.
    expect((await post(`/api/group/${g}/kick`, owner!, { userIDs: [b!.userId] })).body.code).toBe(0);
    const join = await post(`/api/group/${g}/join`, c!);
    expect(join.status).toBe(503);
    expect(join.body.message).toMatch(/saved/);
    expect(await pendingWrites(g)).toBe(2);

    // Sends and fan-out go on; the kicked member is out, the joiner is in.
    const sent = await sendToGroup(ownerSocket, g, "while D1 is down");
    expect(sent.errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const pushed = await aSocket.pushedMessages(3);
    expect(pushed.map((m) => text(m.content))).toContain("while D1 is down");
    const cSocket = await TestSocket.connect(c!);
    expect((await sendToGroup(cSocket, g, "hi, I joined")).errorCode ?? 0).toBe(Err.ERR_SUCCESS);
    const bSocket = await TestSocket.connect(b!);
    expect((await sendToGroup(bSocket, g, "still here?")).errorCode).toBe(Err.ERR_PERMISSION_DENIED);

    expect(await sameInstance(g)).toBe(true);
    const during = await bothViews(g);
    expect(during.d1).not.toEqual(during.local); // D1 lags, nothing lost
    expect(
      loggedEvents(errors).some(
        (line) => line.event === "group_write_failed" && line.conversationId === `group_${g}`,
      ),
    ).toBe(true);

    await restore();
    await drainAlarms(g);
    expect(await pendingWrites(g)).toBe(0);
    const after = await bothViews(g);
    expect(after.d1).toEqual(after.local);
    expect(after.d1Count).toBe(after.local.length);
    expect(after.local.map((m) => m.user_id).sort()).toEqual([owner!, a!, c!].map((u) => u.userId).sort());
    expect(await sameInstance(g)).toBe(true);
    for (const s of [ownerSocket, aSocket, bSocket, cSocket]) s.close();
  });

  it("agrees with D1 when D1 commits a change but its reply is lost", async () => {
    const [owner, a, b, c] = await Promise.all(["o", "a", "b", "c"].map((p) => newUser(p)));
    const group = await createGroup(owner!, [a!, b!]);
    const g = group.groupID;
    await mark(g);
    vi.spyOn(console, "error").mockImplementation(() => {});
    const restore = await injectD1Fault(stubOf(g), "lose-reply");

    // D1 commits the invite, the object never hears so: it keeps the write and replays it.
    expect((await post(`/api/group/${g}/invite`, owner!, { userIDs: [c!.userId] })).body.code).toBe(0);
    expect((await post(`/api/group/${g}/mute`, owner!, { userID: a!.userId, seconds: 600 })).body.code).toBe(
      0,
    );
    expect((await post(`/api/group/${g}/kick`, owner!, { userIDs: [b!.userId] })).body.code).toBe(0);
    expect(await sameInstance(g)).toBe(true);
    expect(await pendingWrites(g)).toBe(3);

    await restore();
    await drainAlarms(g);
    expect(await pendingWrites(g)).toBe(0);
    const after = await bothViews(g);
    expect(after.d1).toEqual(after.local);
    expect(after.d1Count).toBe(3);
    expect(after.local.map((m) => m.user_id).sort()).toEqual([owner!, a!, c!].map((u) => u.userId).sort());
    expect(after.local.find((m) => m.user_id === a!.userId)!.muted_until).toBeGreaterThan(Date.now());
    expect(await sameInstance(g)).toBe(true);
  });
});
