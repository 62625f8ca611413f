// Debian's chromium driven by playwright-core: never a downloaded browser. A missing
// /usr/bin/chromium is an error with the command that installs it, not a skipped test.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** The flags the project runs chromium with (headless, no sandbox as root, nothing phoning home). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

export const SCREENSHOTS = join(import.meta.dirname, "../../test-results/browser");

export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} is missing: install Debian's chromium with \`apt-get update && apt-get install -y chromium\` ` +
        "(.ci/run does this). The browser test never downloads a browser.";
}

/**
 * Launches chromium. Playwright refuses `--user-data-dir` in `args` for a normal launch and
 * instead starts the browser on a fresh temporary profile directory of its own (removed on
 * close), so every run begins with an empty profile; each user then gets their own context.
 */
export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 120_000 });
}

/** Generous: two cores, shared with other test runs. Never an assertion on speed. */
export const WAIT_MS = 45_000;

export async function visible(locator: Locator, what: string, timeout = WAIT_MS): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch (error) {
    throw new Error(`not visible after ${timeout} ms: ${what}\n${String(error)}`, { cause: error });
  }
  return locator.first();
}

export async function gone(locator: Locator, what: string, timeout = WAIT_MS): Promise<void> {
  try {
    await locator.first().waitFor({ state: "hidden", timeout });
  } catch (error) {
    throw new Error(`still visible after ${timeout} ms: ${what}\n${String(error)}`, { cause: error });
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  // Transitions (the toast fading out) run to their end: a page in the background paints nothing
  // until the screenshot asks for a frame.
  await page.screenshot({ path, animations: "disabled" });
  return path;
}
