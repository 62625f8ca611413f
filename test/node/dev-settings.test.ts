// `npm run dev` (scripts/dev.mjs) checks the settings with the worker's own rules
// (src/config/settings.ts) and refuses to start on an invalid one, naming it, before it applies
// migrations, builds the page or starts anything.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

/** Runs scripts/dev.mjs; a run that does not stop on its own within a minute is killed and fails. */
async function runDev(args: string[]): Promise<{ code: number | null; output: string }> {
  const state = mkdtempSync(join(tmpdir(), "im-dev-settings-"));
  const child = spawn(process.execPath, [join(root, "scripts/dev.mjs"), "--persist-to", state, ...args], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true" },
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // It started instead of stopping: end the whole group (wrangler, the gateway).
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        reject(new Error(`scripts/dev.mjs did not stop on invalid settings:\n${output}`));
      }, 60_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

it("refuses to start when a --var is invalid, naming each bad variable and its value", async () => {
  const { code, output } = await runDev([
    "--var",
    "SEND_RATE_PER_SECOND:abc",
    "--var",
    "DEVICE_POLICY:multi",
  ]);
  expect(code).toBe(1);
  expect(output).toContain("dev: invalid settings");
  expect(output).toContain('SEND_RATE_PER_SECOND must be a positive integer (got "abc")');
  expect(output).toContain('DEVICE_POLICY must be one of "per-platform", "single", "all" (got "multi")');
  // Stopped before the migrations (their output names the database) or anything else.
  expect(output).not.toMatch(/migrations|listening/i);
});

it("refuses a history shard wrangler.toml declares no D1 database for", async () => {
  const { code, output } = await runDev(["--var", "HISTORY_SHARDS:DB,HISTORY_1,HISTORY_2"]);
  expect(code).toBe(1);
  expect(output).toContain(
    'HISTORY_SHARDS must name D1 bindings of the Worker ([[d1_databases]] in wrangler.toml); not one: HISTORY_2 (got "DB,HISTORY_1,HISTORY_2")',
  );
  expect(output).not.toMatch(/migrations|listening/i);
});

it("writes a random JWT_SECRET and ADMIN_TOKEN into .dev.vars, and prints neither", async () => {
  // It writes them before it checks the settings, so a run stopped by a bad --var has done it.
  const { output } = await runDev(["--var", "SEND_BURST:abc"]);
  const vars = readFileSync(join(root, ".dev.vars"), "utf8");
  for (const name of ["JWT_SECRET", "ADMIN_TOKEN"]) {
    const value = new RegExp(`^${name}=(.+)$`, "m").exec(vars)?.[1];
    expect(value, name).toMatch(/^[0-9a-f]{64}$/);
    expect(output).not.toContain(value);
  }
});
