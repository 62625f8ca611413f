// Every route the iOS SDK calls (http-api.md §2.0) refuses as the SDK can show it: HTTP 200, JSON,
// a non-zero code and a readable message (§1.4). Only a bad token keeps HTTP 401.
import { describe, expect, it } from "vitest";
import { createGroup } from "./helpers/groups";
import { api, newUser, refusal, type TestUser } from "./helpers/http";

const post = (path: string, user: TestUser | null, body?: unknown) =>
  api(path, {
    method: "POST",
    ...(body === undefined ? {} : { body }),
    ...(user ? { token: user.token } : {}),
  });
const get = (path: string, user: TestUser) => api(path, { token: user.token });

describe("refusals on the SDK's routes", () => {
  it("answers each with HTTP 200, its code and a message the app can show", async () => {
    const [me, other, outsider] = [await newUser("me"), await newUser("other"), await newUser("outsider")];
    const group = await createGroup(me, [other], "Refusals");
    const g = group.groupID;
    const unknownId = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    const cases: [string, () => ReturnType<typeof api>, number][] = [
      [
        "register: username taken",
        () => post("/api/auth/register", null, { username: me.username, password: "whatever1" }),
        409,
      ],
      ["register: bad body", () => post("/api/auth/register", null, { username: "x" }), 400],
      [
        "login: wrong password",
        () => post("/api/auth/login", null, { username: me.username, password: "wrong-one" }),
        401,
      ],
      ["user info: unknown user", () => get(`/api/user/info/${unknownId}`, me), 404],
      ["user info batch: empty list", () => post("/api/user/info/batch", me, { userIDs: [] }), 400],
      [
        "user update: someone else",
        () => post("/api/user/update", me, { userID: other.userId, nickname: "x" }),
        400,
      ],
      ["user search: no keyword", () => get("/api/user/search?keyword=", me), 400],
      ["friend add: yourself", () => post("/api/friend/add", me, { userID: me.userId, message: "" }), 400],
      [
        "friend add: unknown user",
        () => post("/api/friend/add", me, { userID: unknownId, message: "" }),
        404,
      ],
      ["friend accept: no request", () => post("/api/friend/accept", me, { userID: other.userId }), 404],
      ["friend reject: no request", () => post("/api/friend/reject", me, { userID: other.userId }), 404],
      [
        "friend remark: not a friend",
        () => post("/api/friend/remark", me, { userID: other.userId, remark: "x" }),
        404,
      ],
      ["friend check: no user id", () => get("/api/friend/check", me), 400],
      [
        "group create: no name",
        () =>
          post("/api/group/create", me, { groupName: "", faceURL: "", introduction: "", memberUserIDs: [] }),
        400,
      ],
      ["group info: unknown group", () => get(`/api/group/${unknownId}`, me), 404],
      [
        "group update: not owner or admin",
        () => post("/api/group/update", other, { groupID: g, groupName: "Mine" }),
        403,
      ],
      ["group join: unknown group", () => post(`/api/group/${unknownId}/join`, me), 404],
      ["group leave: the owner", () => post(`/api/group/${g}/leave`, me), 400],
      [
        "group invite: not a member",
        () => post(`/api/group/${g}/invite`, outsider, { userIDs: [outsider.userId] }),
        403,
      ],
      [
        "group kick: not owner or admin",
        () => post(`/api/group/${g}/kick`, other, { userIDs: [me.userId] }),
        403,
      ],
      ["group dismiss: not the owner", () => post(`/api/group/${g}/dismiss`, other), 403],
      ["group members: not a member", () => get(`/api/group/${g}/members`, outsider), 403],
    ];
    for (const [name, call, code] of cases) {
      const response = await call();
      expect(refusal(response), name).toBe(code);
      expect(response.body.message.length, name).toBeGreaterThan(3);
    }

    // A missing or bad token is the one refusal that keeps HTTP 401.
    const noToken = await api("/api/friend/list");
    expect(noToken.status).toBe(401);
    expect(noToken.body.code).toBe(401);
  });
});
