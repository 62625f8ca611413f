// The admin page (/admin.html) in a real browser against a real `wrangler dev`: it shows nothing
// but the credential form until the server takes the credential; an admin finds a signed-in user
// and bans them, and that user's open chat page goes back to the sign-in form, saying why.
// Screenshots go to test-results/browser/.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startDevServer, type DevServer } from "../node/helpers/dev-server";
import { chromiumMissing, launchChromium, screenshot, visible, WAIT_MS } from "./browser";

const ADMIN_TOKEN = randomBytes(24).toString("hex");
const PASSWORD = "browser-admin-password";

let server: DevServer | undefined;
let browser: Browser | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (chromiumMissing()) return;
  [server, browser] = await Promise.all([startDevServer({ vars: { ADMIN_TOKEN } }), launchChromium()]);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

async function newPage(path: string): Promise<Page> {
  if (!browser || !server) throw new Error(chromiumMissing() ?? "the browser or wrangler dev did not start");
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${server.origin}${path}`);
  return page;
}

describe("the admin page", () => {
  it("opens only with the admin credential, and a ban sends the user's page back to the sign-in form", async () => {
    const username = `banned${Date.now().toString(36)}`;
    const user = await newPage("/");
    await (
      await visible(user.getByRole("button", { name: "Create an account" }), "the sign-up link")
    ).click();
    await user.locator('input[name="username"]').fill(username);
    await user.locator('input[name="password"]').fill(PASSWORD);
    await user.getByRole("button", { name: "Create account" }).click();
    await visible(user.locator(".connection.online"), "the user online");

    const admin = await newPage("/admin.html");
    // A wrong credential opens nothing.
    await admin.locator('input[name="credential"]').fill("not-the-credential");
    await admin.getByRole("button", { name: "Open" }).click();
    await visible(admin.getByRole("alert").getByText("Invalid admin credential"), "the refusal");
    expect(await admin.getByRole("form", { name: "Find a user" }).count()).toBe(0);

    await admin.locator('input[name="credential"]').fill(ADMIN_TOKEN);
    await admin.getByRole("button", { name: "Open" }).click();
    await visible(
      admin.getByLabel("Counts").getByText(/users, .* banned, .* messages today, \d+ live sockets/),
      "the counts",
    );
    await admin.locator('input[name="username"]').fill(username);
    await admin.getByRole("button", { name: "Find" }).click();
    await visible(admin.getByText(`${username} (`).getByText(/active/), "the user, active");
    await admin.locator('input[name="reason"]').fill("browser test");
    await admin.getByRole("button", { name: "Ban" }).click();
    await visible(admin.getByRole("button", { name: "Unban" }), "the user, banned");
    await screenshot(admin, "admin-banned");

    // The user's page: kicked (reason 2), back to the sign-in form with the reason.
    await visible(user.getByRole("button", { name: "Log in" }), "the user's sign-in form");
    await screenshot(user, "admin-banned-user");
    await visible(user.getByRole("alert").getByText(/Signed out/), "why the user was signed out");
    // And a login is refused.
    await user.locator('input[name="username"]').fill(username);
    await user.locator('input[name="password"]').fill(PASSWORD);
    await user.getByRole("button", { name: "Log in" }).click();
    await visible(user.getByRole("alert").getByText(/banned/i), "the refused login");
  });
});
