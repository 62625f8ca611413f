// The web chat page in a real browser (Debian's chromium via playwright-core) against a real
// `wrangler dev`: two users in two browser contexts register, become friends through the UI,
// chat both ways, see typing and read ticks, revoke, make a group, search and jump to a message,
// and come back after a reload.
// Screenshots of each user (desktop width) and of a narrow window go to test-results/browser/.
import { crc32, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { IMClient } from "edge-im/client";
import { chromiumMissing, gone, screenshot, visible, WAIT_MS } from "./browser";
import { browserSuite, collectProblems } from "./suite";

const DESKTOP = { width: 1280, height: 800 };
const PASSWORD = "browser-test-password";
const NARROW = { width: 390, height: 844 };

const suite = browserSuite();

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

interface User {
  page: Page;
  name: string;
  username: string;
  /** Browser errors and failed requests, reported if a step fails. */
  problems: string[];
  frames?: () => number;
}

async function openPage(name: string): Promise<User> {
  const page = await suite.newPage(DESKTOP);
  const user: User = { page, name, username: `${name.toLowerCase()}${suffix}`, problems: [] };
  collectProblems(page, user.problems);
  page.on("websocket", (ws) => {
    let frames = 0;
    ws.on("framereceived", () => frames++);
    ws.on("close", () => user.problems.push(`socket closed after ${frames} frames`));
    user.problems.push(`socket opened ${ws.url().replace(/token=[^&]+/, "token=…")}`);
    user.frames = () => frames;
  });
  await page.goto(suite.origin());
  return user;
}

async function register(user: User): Promise<void> {
  const { page } = user;
  await (await visible(page.getByRole("button", { name: "Create an account" }), "the sign-up link")).click();
  await page.locator('input[name="username"]').fill(user.username);
  await page.locator('input[name="nickname"]').fill(user.name);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await visible(page.locator(".sidebar-header strong", { hasText: user.name }), `${user.name} signed in`);
  await visible(page.locator(".connection.online"), `${user.name} online`);
}

function tab(user: User, name: "Chats" | "Contacts") {
  return user.page.locator("button.tab", { hasText: name });
}

/** The chat list's row whose title is exactly `title`. */
function chatRow(user: User, title: string) {
  const exact = user.page.locator(".conversation-title").getByText(title, { exact: true });
  return user.page.locator(".conversation").filter({ has: exact });
}

function composer(user: User) {
  return user.page.getByRole("textbox", { name: "Message" });
}

async function send(user: User, text: string): Promise<void> {
  await composer(user).fill(text);
  await composer(user).press("Enter");
  await visible(
    user.page.locator(".timeline .msg.mine:not(.pending)", { hasText: text }),
    `${user.name}'s "${text}" acked`,
  );
}

function message(user: User, text: string, mine: boolean) {
  return user.page.locator(`.timeline .msg.${mine ? "mine" : "theirs"}`, { hasText: text });
}

/** A real PNG (an RGB gradient, `width` × `height`), so that the browser has pixels to draw. */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      rows.set(
        [Math.round((255 * x) / width), Math.round((255 * y) / height), 200],
        y * (width * 3 + 1) + 1 + x * 3,
      );
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Runs a step and, when it fails, adds what the pages reported to the error. */
async function step<T>(users: User[], what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    for (const u of users) await screenshot(u.page, `failed-${u.name.toLowerCase()}`).catch(() => undefined);
    const problems = users.flatMap((u) => [
      ...u.problems.map((p) => `${u.name}: ${p}`),
      `${u.name}: ${u.frames?.() ?? 0} frames received on the current socket`,
    ]);
    throw new Error(`${what} failed: ${String(error)}\n${problems.join("\n")}`, { cause: error });
  }
}

describe("web chat page", () => {
  it("runs on Debian's chromium at /usr/bin/chromium", () => {
    expect(chromiumMissing(), chromiumMissing() ?? "").toBeNull();
  });

  it("serves the page at / while /api, /ws and /health stay with the worker", async () => {
    const origin = suite.origin();
    const page = await fetch(`${origin}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script type="module" src="/app.js?v=');
    const script = await fetch(`${origin}/app.js`);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect(await (await fetch(`${origin}/health`)).json()).toMatchObject({ code: 0 });
    const api = await fetch(`${origin}/api/no-such-route`);
    expect([api.status, await api.json()]).toEqual([404, { code: 404, message: "Not found", data: null }]);
    const ws = await fetch(`${origin}/ws`);
    expect(ws.headers.get("content-type") ?? "").not.toContain("text/html");
    expect(ws.status).toBeGreaterThanOrEqual(400);
  });

  it("lets two users befriend, chat both ways with typing and read ticks, revoke, and make a group", async () => {
    const alice = await openPage("Alice");
    const bob = await openPage("Bob");
    const both = [alice, bob];

    await step(both, "registering", async () => {
      await visible(alice.page.getByRole("form", { name: "Log in" }), "the sign-in form");
      await screenshot(alice.page, "sign-in");
      await register(alice);
      await register(bob);
      await visible(alice.page.getByRole("heading", { name: "No chats yet" }), "the empty chat list");
      await visible(alice.page.getByRole("heading", { name: "Pick a chat" }), "the empty chat pane");
      await screenshot(alice.page, "alice-empty");
    });

    await step(both, "the friend request", async () => {
      await tab(alice, "Contacts").click();
      await alice.page.getByRole("searchbox", { name: "Search people" }).fill(bob.username);
      await alice.page.getByRole("searchbox", { name: "Search people" }).press("Enter");
      const result = await visible(
        alice.page.getByRole("list", { name: "Search results" }).locator(".person", { hasText: "Bob" }),
        "Bob in the search results",
      );
      await result.getByRole("button", { name: "Add friend" }).click();
      await visible(result.getByText("Requested"), "the request marked as sent");

      // Bob hears of it (a notice in his system conversation) and accepts it in Contacts.
      await visible(tab(bob, "Contacts").locator(".badge", { hasText: "1" }), "Bob's request badge");
      await tab(bob, "Contacts").click();
      const request = await visible(
        bob.page.getByRole("list", { name: "Friend requests" }).locator(".person", { hasText: "Alice" }),
        "Alice's request on Bob's side",
      );
      await visible(
        bob.page.locator(".toast.visible", { hasText: "Alice sent you a friend request" }),
        "a toast",
      );
      await screenshot(bob.page, "bob-request");
      await request.getByRole("button", { name: "Accept" }).click();
      const friend = await visible(
        bob.page.getByRole("list", { name: "Friends" }).locator(".person", { hasText: "Alice" }),
        "Alice among Bob's friends",
      );
      await gone(tab(bob, "Contacts").locator(".badge"), "Bob's request badge");
      await visible(
        alice.page.getByRole("list", { name: "Friends" }).locator(".person", { hasText: "Bob" }),
        "Bob among Alice's friends",
      );
      await friend.getByRole("button", { name: "Message" }).click();
      await visible(bob.page.locator(".chat-header h2", { hasText: "Alice" }), "Bob's chat with Alice");
    });

    await step(both, "chatting from Bob to Alice", async () => {
      await send(bob, "Hi Alice! Thanks for the add");
      await tab(alice, "Chats").click();
      const row = await visible(chatRow(alice, "Bob"), "the chat with Bob in Alice's list");
      await visible(row.locator(".badge", { hasText: "1" }), "one unread on Alice's side");
      await visible(
        row.locator(".conversation-preview", { hasText: "Thanks for the add" }),
        "the last message",
      );
      await visible(tab(alice, "Chats").locator(".badge", { hasText: "1" }), "Alice's Chats tab badge");
      // Not read yet: Bob sees one tick.
      await visible(
        message(bob, "Thanks for the add", true).getByLabel("Sent"),
        "one tick before Alice opens the chat",
      );
      await row.click();
      await visible(message(alice, "Thanks for the add", false), "Bob's message in Alice's chat");
      await gone(row.locator(".badge"), "Alice's unread badge");
      await visible(message(bob, "Thanks for the add", true).getByLabel("Read"), "Bob's message read (✓✓)");
    });

    await step(both, "typing and chatting from Alice to Bob", async () => {
      await composer(alice).pressSequentially("Hey Bob", { delay: 20 });
      await visible(
        bob.page.locator(".chat-subtitle.typing", { hasText: "typing…" }),
        "Bob sees Alice typing",
      );
      await screenshot(bob.page, "bob-typing");
      await composer(alice).pressSequentially(", nice to meet you here.", { delay: 5 });
      await composer(alice).press("Enter");
      await visible(message(bob, "nice to meet you here", false), "Alice's message on Bob's side");
      await gone(bob.page.locator(".chat-subtitle.typing"), "the typing indicator after the message");
      await visible(message(alice, "nice to meet you here", true).getByLabel("Read"), "Alice's message read");

      await send(bob, "Same! Are we still on for Saturday?");
      await send(alice, "Yes, 10am at the station.\nI'll bring the map.");
      await send(bob, "Perfect, see you there");
      await visible(message(alice, "Perfect, see you there", false), "Bob's reply on Alice's side");
      await visible(message(bob, "bring the map", false), "the two-line message on Bob's side");
      // Alice answered in between, and still every message of Bob's ends up read (✓✓).
      for (const text of ["Are we still on", "Perfect, see you there"])
        await visible(message(bob, text, true).getByLabel("Read"), `Bob's "${text}" read`);
      await send(alice, "Oops, wrong chat");
      await visible(message(bob, "Oops, wrong chat", false), "the message to revoke on Bob's side");
    });

    await step(both, "revoking", async () => {
      const mine = message(alice, "Oops, wrong chat", true);
      await mine.hover();
      await mine.getByRole("button", { name: "Revoke" }).click();
      await visible(
        alice.page.locator(".msg.mine.revoked", { hasText: "You revoked this message" }),
        "revoked (Alice)",
      );
      await visible(
        bob.page.locator(".msg.theirs.revoked", { hasText: "This message was revoked" }),
        "revoked (Bob)",
      );
      await gone(message(bob, "Oops, wrong chat", false), "the revoked text on Bob's side");
    });

    await step(both, "a photo and a file", async () => {
      // Alice picks a photo; Bob sees it drawn in the timeline.
      await alice.page
        .locator('.composer input[type="file"]')
        .setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: gradientPng(240, 160) });
      await visible(
        alice.page.locator(".timeline .msg.mine:not(.pending) .photo img"),
        "Alice's photo, acked",
      );
      const photo = await visible(
        bob.page.locator(".timeline .msg.theirs .photo img"),
        "the photo on Bob's side",
      );
      await expect
        .poll(() => photo.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)), {
          timeout: WAIT_MS,
        })
        .toBe(240);
      expect(await photo.getAttribute("src")).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}\.png$/,
      );
      await gone(bob.page.locator(".toast.visible"), "toasts");
      await screenshot(bob.page, "bob-photo");

      // Bob drops a file on the chat; Alice gets a link with its name and size.
      await bob.page.evaluate(() => {
        const data = new DataTransfer();
        data.items.add(new File(["Saturday: 10am at the station\n"], "plan.txt", { type: "text/plain" }));
        const panel = document.querySelector(".chat-panel");
        panel?.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
      });
      const link = await visible(
        alice.page.locator(".timeline .msg.theirs .file-link", { hasText: "plan.txt" }),
        "Bob's file on Alice's side",
      );
      await visible(link.locator(".file-size", { hasText: "30 B" }), "the file's size");
      const href = await link.getAttribute("href");
      expect(await (await fetch(href!)).text()).toBe("Saturday: 10am at the station\n");
      await gone(alice.page.locator(".toast.visible"), "toasts");
      await screenshot(alice.page, "alice-file");
    });

    await step(both, "a group", async () => {
      await tab(alice, "Contacts").click();
      const form = alice.page.getByRole("form", { name: "New group" });
      await form.getByRole("textbox", { name: "Group name" }).fill("Saturday hike");
      await form.getByRole("checkbox", { name: "Bob" }).check();
      await form.getByRole("button", { name: "Create" }).click();
      await visible(
        alice.page.locator(".chat-header h2", { hasText: "Saturday hike" }),
        "the new group's chat",
      );
      await visible(
        alice.page.locator(".timeline .notice", { hasText: "created the group" }),
        "the creation notice",
      );
      await send(alice, "Group for the hike: bring water and snacks");
      await screenshot(alice.page, "alice-group");
      await tab(alice, "Chats").click();
      await tab(bob, "Chats").click();
      const row = await visible(chatRow(bob, "Saturday hike"), "the group in Bob's list");
      await visible(row.locator(".badge"), "the group's unread badge on Bob's side");
    });

    await step(both, "pinning", async () => {
      // The group is newer, yet a pinned chat goes first.
      const titles = bob.page.locator(".conversation .conversation-title");
      await expect
        .poll(() => titles.allTextContents(), { timeout: WAIT_MS })
        .toEqual(["Saturday hike", "Alice"]);
      await chatRow(bob, "Alice").click();
      await bob.page.getByRole("button", { name: "Pin chat" }).click();
      await visible(bob.page.getByRole("button", { name: "Unpin chat" }), "the pin button pressed");
      await expect
        .poll(() => titles.allTextContents(), { timeout: WAIT_MS })
        .toEqual(["Alice", "Saturday hike"]);
      await visible(chatRow(bob, "Alice").getByLabel("Pinned"), "the pin mark in the list");
    });

    await step(both, "screenshots", async () => {
      for (const user of both) await gone(user.page.locator(".toast.visible"), "toasts");
      await screenshot(bob.page, "bob-desktop");
      await chatRow(alice, "Bob").click();
      await visible(message(alice, "Perfect, see you there", false), "Alice back in the chat with Bob");
      await visible(alice.page.locator(".msg.mine.revoked"), "the revoked message, from the store");
      await visible(message(alice, "bring the map", true).getByLabel("Read"), "the read ticks, kept");
      await screenshot(alice.page, "alice-desktop");

      // A narrow window shows one pane at a time: the open chat, and the list after "back".
      await bob.page.setViewportSize(NARROW);
      await visible(message(bob, "Perfect, see you there", true), "the chat pane at a narrow width");
      await expect(bob.page.locator(".sidebar").isVisible()).resolves.toBe(false);
      await screenshot(bob.page, "bob-narrow-chat");
      await bob.page.getByRole("button", { name: "Back to chats" }).click();
      await visible(chatRow(bob, "Saturday hike"), "the list pane at a narrow width");
      await expect(bob.page.locator(".chat-pane").isVisible()).resolves.toBe(false);
      await screenshot(bob.page, "bob-narrow-list");
    });

    await step(both, "paging back through history", async () => {
      // Alice's other device (the SDK in Node) writes 40 more; Bob scrolls up through them.
      const device = new IMClient({ apiUrl: suite.origin(), platform: "node" });
      await device.login({ username: alice.username, password: PASSWORD });
      await device.connect();
      const bobId = await bob.page.evaluate(() => {
        const saved: unknown = JSON.parse(localStorage.getItem("edge-im.session") ?? "{}");
        return typeof saved === "object" && saved && "userID" in saved ? String(saved.userID) : "";
      });
      for (let i = 1; i <= 40; i++) await device.sendText(bobId, `Backlog ${i}`);
      device.disconnect();

      await bob.page.setViewportSize(DESKTOP);
      await chatRow(bob, "Alice").click();
      const text = (t: string) => bob.page.locator(".timeline .msg .text").getByText(t, { exact: true });
      await visible(text("Backlog 40"), "the newest message");
      expect(await text("Backlog 1").count()).toBe(0); // one page at first
      const first = text("Hi Alice! Thanks for the add");
      for (let attempt = 0; attempt < 10 && (await first.count()) === 0; attempt++) {
        await bob.page.locator(".timeline-scroll").evaluate((el) => el.scrollTo({ top: 0 }));
        await bob.page.waitForTimeout(500);
      }
      await visible(first, "the first message after scrolling up");
      await visible(text("Backlog 1"), "the oldest backlog message");
      await visible(
        bob.page.locator(".timeline-edge", { hasText: "beginning" }),
        "the start of the conversation",
      );
      expect(
        await bob.page
          .locator(".timeline .msg .text")
          .getByText(/^Backlog \d+$/)
          .count(),
      ).toBe(40);
    });

    await step(both, "searching and jumping to a message", async () => {
      // "Saturday" is 40 backlog messages and more back: not on the chat's first page.
      await tab(alice, "Chats").click();
      const box = alice.page.getByRole("searchbox", { name: "Search messages" });
      await box.fill("saturday");
      await box.press("Enter");
      const hit = alice.page
        .getByRole("list", { name: "Search results" })
        .locator(".search-hit", { hasText: "Are we still on for" });
      await visible(hit, "the hit in Alice's search results");
      await visible(hit.locator("mark", { hasText: "Saturday" }), "the matched word marked");
      await visible(hit.locator(".conversation-title", { hasText: "Bob" }), "the hit's conversation");
      await screenshot(alice.page, "alice-search");
      await hit.click();
      await visible(
        alice.page.locator(".timeline .msg.theirs.found", { hasText: "Are we still on for Saturday?" }),
        "the message, loaded, scrolled to and marked",
      );
      await screenshot(alice.page, "alice-found");
      await expect(alice.page.locator(".chat-header h2", { hasText: "Bob" }).count()).resolves.toBe(1);
      await box.fill("");
      await visible(chatRow(alice, "Bob"), "the chat list back once the search is cleared");
    });

    await step(both, "a reload", async () => {
      // The session survives in localStorage and the messages in IndexedDB.
      await alice.page.reload();
      await visible(alice.page.locator(".connection.online"), "Alice online again without signing in");
      const last = alice.page
        .locator(".timeline .msg.mine")
        .filter({ has: alice.page.locator(".text").getByText("Backlog 40", { exact: true }) });
      await visible(last, "the open chat restored from the URL, newest page first");
      // Bob has read the backlog (his chat was open): ✓✓ comes from the synced status.
      await visible(last.getByLabel("Read"), "ticks after the reload");
    });

    expect([...alice.problems, ...bob.problems].filter((p) => p.startsWith("page error"))).toEqual([]);
  });
});
