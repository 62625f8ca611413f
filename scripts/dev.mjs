// `npm run dev [-- <wrangler dev options>]`: the whole system on localhost, no Cloudflare account.
// 1. Writes .dev.vars with a random JWT_SECRET when it has none (the file is git-ignored).
// 2. Applies the D1 migrations to the local database that `wrangler dev` will use.
// 3. Builds the web chat page (src/web → dist/web, served at `/`).
// 4. Runs `wrangler dev` with the options given (e.g. --port 8787 --ip 127.0.0.1).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildWeb } from "./build-web.mjs";

const root = resolve(import.meta.dirname, "..");
// Run wrangler on this Node (the `node` devDependency when started by npm), not whatever is on PATH.
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const args = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

function ensureDevVars() {
  const file = join(root, ".dev.vars");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (/^JWT_SECRET=.+$/m.test(text)) return;
  const line = `JWT_SECRET=${randomBytes(32).toString("hex")}\n`;
  writeFileSync(file, text && !text.endsWith("\n") ? `${text}\n${line}` : text + line, { mode: 0o600 });
  console.log("dev: wrote a random JWT_SECRET to .dev.vars");
}

/** `--persist-to DIR` (or `--persist-to=DIR`) must reach the migration step too. */
function persistArgs() {
  const i = args.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
  if (i < 0) return [];
  return args[i].includes("=") ? [args[i]] : [args[i], args[i + 1]];
}

ensureDevVars();
const migrate = spawnSync(
  process.execPath,
  [wrangler, "d1", "migrations", "apply", "DB", "--local", ...persistArgs()],
  {
    cwd: root,
    env: { ...env, CI: "true" },
    stdio: "inherit",
  },
);
if (migrate.status !== 0) {
  console.error("dev: applying D1 migrations failed");
  process.exit(migrate.status ?? 1);
}
try {
  await buildWeb();
} catch (error) {
  console.error("dev: building the web page failed:", error.message ?? error);
  process.exit(1);
}
const dev = spawn(process.execPath, [wrangler, "dev", ...args], { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
