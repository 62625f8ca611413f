// Chatrooms on the web page in a real browser (Debian's chromium via playwright-core) against a real
// `wrangler dev`: Alice creates a token room in the Rooms tab and sees its join token; Bob joins it
// by ID with that token in another browser context; each sees the other's messages, in order, and
// Alice closes the room. Screenshots go to test-results/browser/ (room-*.png).
import { describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { gone, screenshot, visible, WAIT_MS } from "./browser";
import { browserSuite, collectProblems } from "./suite";

const DESKTOP = { width: 1280, height: 800 };
const NARROW = { width: 390, height: 844 };
const PASSWORD = "browser-test-password";

const suite = browserSuite();

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

interface User {
  page: Page;
  name: string;
  /** Browser errors and the room sockets, reported if a step fails. */
  problems: string[];
}

async function signedIn(name: string): Promise<User> {
  const page = await suite.newPage(DESKTOP);
  const user: User = { page, name, problems: [] };
  collectProblems(page, user.problems, { warnings: false });
  page.on("websocket", (ws) => {
    const url = ws.url().replace(/token=[^&]+/g, "token=…");
    user.problems.push(`socket opened ${url}`);
    ws.on("close", () => user.problems.push(`socket closed ${url}`));
  });
  await page.goto(suite.origin());
  await (await visible(page.getByRole("button", { name: "Create an account" }), "the sign-up link")).click();
  await page.locator('input[name="username"]').fill(`${name.toLowerCase()}${suffix}`);
  await page.locator('input[name="nickname"]').fill(name);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await visible(page.locator(".connection.online"), `${name} online`);
  return user;
}

async function step<T>(users: User[], what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    for (const u of users)
      await screenshot(u.page, `room-failed-${u.name.toLowerCase()}`).catch(() => undefined);
    const problems = users.flatMap((u) => u.problems.map((p) => `${u.name}: ${p}`));
    throw new Error(`${what} failed: ${String(error)}\n${problems.join("\n")}`, { cause: error });
  }
}

function roomsTab(user: User) {
  return user.page.locator("button.tab", { hasText: "Rooms" });
}

async function say(user: User, text: string): Promise<void> {
  const box = user.page.locator(".chat-panel.room").getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
  await visible(
    user.page.locator(".timeline .msg.mine:not(.pending)", { hasText: text }),
    `${user.name}'s "${text}" in the room's order`,
  );
}

function theirs(user: User, text: string) {
  return user.page.locator(".timeline .msg.theirs", { hasText: text });
}

describe("chatrooms on the web page", () => {
  it("lets two users in two browsers meet in a token room, each seeing the other's messages", async () => {
    const alice = await signedIn("Alice");
    const bob = await signedIn("Bob");
    const both = [alice, bob];

    const { roomId, token } = await step(both, "creating a token room", async () => {
      await roomsTab(alice).click();
      const form = alice.page.getByRole("form", { name: "New room" });
      await form.getByRole("textbox", { name: "Room name" }).fill("Launch party");
      await form.getByRole("combobox", { name: "Who may join" }).selectOption("token");
      await form.getByRole("button", { name: "Create" }).click();
      await visible(
        alice.page.locator(".chat-header h2", { hasText: "Launch party" }),
        "the new room's view",
      );
      const field = alice.page.getByRole("textbox", { name: "Join token to share" });
      await expect.poll(() => field.inputValue(), { timeout: WAIT_MS }).not.toBe("");
      await visible(alice.page.getByRole("button", { name: "Close room" }), "the creator's Close button");
      const id = decodeURIComponent(new URL(alice.page.url()).hash.slice(1)).replace(/^chatroom_/, "");
      expect(id).toMatch(/^[A-Za-z0-9-]+$/);
      await visible(
        alice.page.locator(".chat-subtitle", { hasText: `ID ${id}` }),
        "the room ID in the header",
      );
      await screenshot(alice.page, "room-created");
      return { roomId: id, token: await field.inputValue() };
    });

    await step(both, "joining by ID, first without the token", async () => {
      await roomsTab(bob).click();
      const form = bob.page.getByRole("form", { name: "Join a room" });
      await form.getByRole("textbox", { name: "Room ID" }).fill(roomId);
      await form.getByRole("button", { name: "Join" }).click();
      await visible(
        bob.page.locator(".toast.visible", { hasText: "Could not join" }),
        "the refusal without a token",
      );
      await form.getByRole("textbox", { name: "Join token" }).fill(token);
      await form.getByRole("button", { name: "Join" }).click();
      await visible(bob.page.locator(".chat-header h2", { hasText: "Launch party" }), "Bob in the room");
      // Only the creator gets the token bar and the Close button.
      await gone(
        bob.page.getByRole("textbox", { name: "Join token to share" }),
        "the token bar on Bob's side",
      );
      expect(await bob.page.getByRole("button", { name: "Close room" }).count()).toBe(0);
      await visible(
        bob.page.getByRole("list", { name: "Your rooms" }).locator(".person", { hasText: "Launch party" }),
        "the room among Bob's rooms",
      );
    });

    await step(both, "talking both ways", async () => {
      await say(alice, "Welcome to the launch party!");
      await visible(theirs(bob, "Welcome to the launch party!"), "Alice's message on Bob's side");
      await visible(bob.page.locator(".timeline .sender", { hasText: "Alice" }), "Alice's name over it");
      await say(bob, "Thanks! Happy to be here");
      await visible(theirs(alice, "Happy to be here"), "Bob's message on Alice's side");
      await say(alice, "Doors open at eight");
      await say(bob, "See you there");
      await visible(theirs(alice, "See you there"), "Bob's second message on Alice's side");
      await visible(theirs(bob, "Doors open at eight"), "Alice's second message on Bob's side");
      // The same order on both sides (the room's seqs).
      const order = (user: User) =>
        user.page.locator(".timeline .msg .text").evaluateAll((nodes) => nodes.map((n) => n.textContent));
      expect(await order(bob)).toEqual(await order(alice));
      expect(await order(alice)).toEqual([
        "Welcome to the launch party!",
        "Thanks! Happy to be here",
        "Doors open at eight",
        "See you there",
      ]);
      for (const u of both) await gone(u.page.locator(".toast.visible"), `${u.name}'s toasts`);
      await screenshot(alice.page, "room-alice");
      await screenshot(bob.page, "room-bob");
      // A phone-sized window shows the room alone, with a way back.
      await bob.page.setViewportSize(NARROW);
      await visible(theirs(bob, "Doors open at eight"), "the room on a narrow window");
      await visible(bob.page.getByRole("button", { name: "Back to rooms" }), "the back button");
      await screenshot(bob.page, "room-narrow");
      await bob.page.setViewportSize(DESKTOP);
    });

    await step(both, "closing the room", async () => {
      await alice.page.getByRole("button", { name: "Close room" }).click();
      await visible(
        bob.page.locator(".toast.visible", { hasText: "Room closed" }),
        "Bob told the room closed",
      );
      await visible(bob.page.getByRole("heading", { name: "Pick a chat" }), "Bob back to the empty pane");
      await gone(
        bob.page.getByRole("list", { name: "Your rooms" }).locator(".person", { hasText: "Launch party" }),
        "the closed room in Bob's list",
      );
      await screenshot(bob.page, "room-closed");
    });
  });
});
