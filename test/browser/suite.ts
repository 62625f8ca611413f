// What every browser test file sets up the same way: one `wrangler dev` and one chromium, started
// before its tests and stopped after them with every context opened through it, and pages that
// collect what goes wrong in them (reported when a step fails).
import { afterAll, beforeAll } from "vitest";
import type { Browser, BrowserContext, Page, ViewportSize } from "playwright-core";
import { startDevServer, type DevServer } from "../node/helpers/dev-server";
import { chromiumMissing, launchChromium, WAIT_MS } from "./browser";

export interface BrowserSuite {
  /** The server's origin; throws with the reason when it or chromium did not start. */
  origin(): string;
  /** A page in a browser context of its own (a user with nothing stored). */
  newPage(viewport: ViewportSize): Promise<Page>;
}

export function browserSuite(): BrowserSuite {
  let server: DevServer | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const notStarted = () => new Error(chromiumMissing() ?? "the browser or wrangler dev did not start");

  beforeAll(async () => {
    if (chromiumMissing()) return; // the tests fail with the reason
    [server, browser] = await Promise.all([startDevServer(), launchChromium()]);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  return {
    origin() {
      if (!server) throw notStarted();
      return server.origin;
    },
    async newPage(viewport) {
      if (!browser || !server) throw notStarted();
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      return page;
    },
  };
}

/** Collects the page's errors (and console errors; warnings too when asked) into `problems`. */
export function collectProblems(page: Page, problems: string[], { warnings = true } = {}): void {
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || (warnings && m.type() === "warning"))
      problems.push(`console ${m.type()}: ${m.text()}`);
  });
}
