import { describe, expect, it } from "vitest";
import { api, newUser, refusal } from "./helpers/http";

describe("HTTP auth and users", () => {
  it("registers, logs in and returns the user in the SDK's shape", async () => {
    const username = `alice${Date.now()}`;
    const registered = await api<{ userID: string; nickname: string }>("/api/auth/register", {
      body: { username, password: "s3cret-pass", nickname: "Alice" },
    });
    expect(registered.status).toBe(200);
    expect(registered.contentType).toMatch(/^application\/json/);
    expect(registered.body.code).toBe(0);
    const user = registered.body.data!;
    expect(user.userID).toMatch(/^[0-9A-Z]{26}$/);
    expect(user.nickname).toBe("Alice");
    expect(user).not.toHaveProperty("passwordHash");

    const login = await api<{ token: string; userID: string; user: { userID: string } }>("/api/auth/login", {
      body: { username: username.toUpperCase(), password: "s3cret-pass", platform: "iOS" },
    });
    expect(login.body.code).toBe(0);
    expect(login.body.data!.userID).toBe(user.userID);
    expect(login.body.data!.user.userID).toBe(user.userID);

    const info = await api<{ userID: string }>(`/api/user/info/${user.userID}`, {
      token: login.body.data!.token,
    });
    expect(info.body).toMatchObject({ code: 0, data: { userID: user.userID, nickname: "Alice" } });
  });

  it("refuses a taken username with 409 and keeps the first account", async () => {
    const user = await newUser("dup");
    const again = await api("/api/auth/register", {
      body: { username: user.username, password: "another-pass" },
    });
    expect(refusal(again)).toBe(409);
    expect(again.body).toMatchObject({ code: 409, message: "username already exists" });
    const login = await api("/api/auth/login", {
      body: { username: user.username, password: user.password },
    });
    expect(login.body.code).toBe(0);
  });

  it.each([
    ["not JSON", "{oops", /not valid JSON/],
    ["missing password", JSON.stringify({ username: "validname" }), /password/],
    ["short username", JSON.stringify({ username: "ab", password: "long-enough" }), /username/],
    ["username with spaces", JSON.stringify({ username: "a b c", password: "long-enough" }), /username/],
    ["short password", JSON.stringify({ username: "validname2", password: "123" }), /password/],
    [
      "password over 72 bytes",
      JSON.stringify({ username: "validname3", password: "x".repeat(73) }),
      /password/,
    ],
    ["array body", "[]", /body|expected object/],
  ])("answers a bad register body (%s) with 400 and the envelope", async (_name, rawBody, message) => {
    const response = await api("/api/auth/register", { rawBody });
    expect(refusal(response)).toBe(400);
    expect(response.body.code).toBe(400);
    expect(response.body.message).toMatch(message);
    expect(response.body.message).not.toMatch(/at .*\.ts|Error:/);
  });

  it("answers a wrong password and an unknown user alike with code 401, readable by the app", async () => {
    const user = await newUser("pw");
    const wrong = await api("/api/auth/login", {
      body: { username: user.username, password: "wrong-password" },
    });
    const unknown = await api("/api/auth/login", {
      body: { username: "nobody-here", password: "wrong-password" },
    });
    expect(refusal(wrong)).toBe(401);
    expect(refusal(unknown)).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
  });

  it("rotates a refresh token and revokes the family when one is used twice", async () => {
    const user = await newUser("refresh");
    const first = await api<{ token: string; refreshToken: string }>("/api/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(first.body.code).toBe(0);
    const rotated = first.body.data!.refreshToken;
    expect(rotated).not.toBe(user.refreshToken);

    const replay = await api("/api/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/reuse/);
    // The thief's replay also killed the legitimate holder's newer token.
    const afterReplay = await api("/api/auth/refresh", { body: { refreshToken: rotated } });
    expect(afterReplay.status).toBe(401);
  });

  it("logs out by revoking the refresh token's family", async () => {
    const user = await newUser("logout");
    const logout = await api("/api/auth/logout", {
      body: { refreshToken: user.refreshToken },
      token: user.token,
    });
    expect(logout.body).toMatchObject({ code: 0, data: null });
    const refresh = await api("/api/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(refresh.status).toBe(401);
  });

  it("requires a valid bearer token for user info", async () => {
    const user = await newUser("info");
    expect((await api(`/api/user/info/${user.userId}`)).status).toBe(401);
    expect((await api(`/api/user/info/${user.userId}`, { token: "not-a-jwt" })).status).toBe(401);
    const missing = await api("/api/user/info/01ARZ3NDEKTSV4RRFFQ69G5FAV", { token: user.token });
    expect(refusal(missing)).toBe(404);
    const badId = await api("/api/user/info/bad_id", { token: user.token });
    expect(refusal(badId)).toBe(400);
  });

  it("returns the known users of a batch and refuses an empty batch", async () => {
    const [a, b] = [await newUser("batch"), await newUser("batch")];
    const batch = await api<{ userID: string }[]>("/api/user/info/batch", {
      body: { userIDs: [a.userId, b.userId, "01ARZ3NDEKTSV4RRFFQ69G5FAV"] },
      token: a.token,
    });
    expect(batch.body.code).toBe(0);
    expect(batch.body.data!.map((u) => u.userID).sort()).toEqual([a.userId, b.userId].sort());
    const empty = await api("/api/user/info/batch", { body: { userIDs: [] }, token: a.token });
    expect(refusal(empty)).toBe(400);
  });

  it("answers /health and unknown paths with the envelope (a path no SDK call uses keeps its 404)", async () => {
    expect((await api("/health")).body).toEqual({ code: 0, message: "OK", data: { status: "healthy" } });
    const missing = await api("/api/nothing-here");
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(404);
  });
});
