// The admin API's door: only the admin credential opens it (never a user's token), a server
// without ADMIN_TOKEN keeps it shut, bad input gets the API's usual envelope, and every call that
// passed the credential is in the audit log, newest first.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/worker/app";
import { ADMIN_ADDRESS, adminApi, latestAudit } from "./helpers/admin";
import { newUser, ORIGIN, refusal } from "./helpers/http";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the admin credential", () => {
  it("refuses a call without a credential, with a wrong one, and with a user's token, as 401 envelopes", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const user = await newUser("nosy");
    for (const credential of [null, "x".repeat(64), user.token, `${env.ADMIN_TOKEN}x`]) {
      const response = await adminApi(`/users/${user.userId}`, { credential });
      expect(response.status).toBe(401);
      expect(response.contentType).toMatch(/^application\/json/);
      expect(response.body).toMatchObject({ code: 401, data: null });
    }
    // The refusals are logged by address, never with what was sent.
    const logged = warn.mock.calls.map(String).join("\n");
    expect(logged).toContain(ADMIN_ADDRESS);
    expect(logged).not.toContain(user.token);
    // A refused caller writes nothing to the audit log (it would let anyone fill it).
    expect((await latestAudit()).some((e) => e.target === user.userId)).toBe(false);
  });

  it("keeps the admin API shut when ADMIN_TOKEN is not set, whatever is sent", async () => {
    const { ADMIN_TOKEN: token, ...withoutAdmin } = env;
    for (const credential of [undefined, token]) {
      const ctx = createExecutionContext();
      const headers: Record<string, string> = credential ? { Authorization: `Bearer ${credential}` } : {};
      const response = await createApp().fetch(
        new Request(`${ORIGIN}/api/admin/stats`, { headers }),
        withoutAdmin as unknown as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        code: 403,
        message: "The admin API is disabled: ADMIN_TOKEN is not set",
        data: null,
      });
    }
  });

  it("answers an unknown admin path 404 only to the admin", async () => {
    expect((await adminApi("/no/such/thing", { credential: null })).status).toBe(401);
    const response = await adminApi("/no/such/thing");
    expect(response.status).toBe(404);
    expect(response.body.code).toBe(404);
  });
});

describe("bad input", () => {
  it("gets the envelope and the statuses of the rest of the API, and is audited as refused", async () => {
    expect(refusal(await adminApi("/users/not_an_id"))).toBe(400);
    expect(refusal(await adminApi("/users/nobody-at-all"))).toBe(404);
    expect(refusal(await adminApi("/users/abc/password", { body: { newPassword: "123" } }))).toBe(400);
    expect(refusal(await adminApi("/users/abc/ban", { rawBody: "{not json" }))).toBe(400);
    expect(refusal(await adminApi("/users?username="))).toBe(400);
    expect(refusal(await adminApi("/audit?limit=0"))).toBe(400);

    const [short, unknown] = await latestAudit(5).then((entries) => entries.slice(3, 5));
    expect(unknown).toMatchObject({ action: "user.get", target: "nobody-at-all", outcomeCode: 404 });
    expect(short).toMatchObject({ action: "user.password", target: "abc", outcomeCode: 400 });
    expect(short?.outcome).toMatch(/newPassword/);
    expect(JSON.stringify(short?.params)).not.toContain("123");
  });
});

describe("the audit log", () => {
  it("records each call's action, target, parameters, time, address and outcome, newest first, in pages", async () => {
    const user = await newUser("audited");
    const started = Date.now();
    await adminApi(`/users/${user.userId}/ban`, { body: { reason: "spam" } });
    await adminApi(`/users/${user.userId}/unban`, { body: {} });
    await adminApi(`/users/${user.userId}/password`, { body: { newPassword: "a-secret-password" } });

    const [password, unban, ban] = await latestAudit(3);
    expect(ban).toMatchObject({
      action: "user.ban",
      target: user.userId,
      params: { reason: "spam" },
      clientIP: ADMIN_ADDRESS,
      outcomeCode: 0,
      outcome: "ok",
    });
    expect(ban!.time).toBeGreaterThanOrEqual(started);
    expect(unban).toMatchObject({ action: "user.unban", target: user.userId, outcomeCode: 0 });
    expect(password).toMatchObject({ action: "user.password", target: user.userId, params: {} });
    expect(JSON.stringify(await latestAudit(50))).not.toContain("a-secret-password");

    // Paging: `next` of a full page is the `before` of the next, older one.
    const first = await adminApi<{ entries: { id: number }[]; next: number }>("/audit?limit=2");
    const second = await adminApi<{ entries: { id: number }[] }>(
      `/audit?limit=2&before=${first.body.data!.next}`,
    );
    const ids = [...first.body.data!.entries, ...second.body.data!.entries].map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(4);
    // Reading the log is itself audited.
    expect((await latestAudit(1))[0]).toMatchObject({ action: "audit.read", params: { limit: 2 } });
  });
});
