// The server's local D1 database under `wrangler dev --persist-to DIR`: migrated the way
// scripts/dev.mjs does it, and opened with node:sqlite (the d1-lag scenario reads it; the search
// scenario writes its history before the server starts).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { root } from "./server.ts";

/** Applies the D1 migrations to the local database under `persistDir`, as `npm run dev` does. */
export function migrateLocalD1(persistDir: string): void {
  const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
  const run = spawnSync(
    process.execPath,
    [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir],
    { cwd: root, env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`applying D1 migrations failed:\n${run.stdout}\n${run.stderr}`);
}

/** The local D1 database file: the one under v3/d1 that has the history table. */
export function openLocalD1(persistDir: string, options: { readOnly: boolean }): DatabaseSync {
  const dir = join(persistDir, "v3/d1/miniflare-D1DatabaseObject");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".sqlite") || name === "metadata.sqlite") continue;
    const db = new DatabaseSync(join(dir, name), options);
    const found = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").get();
    if (found) return db;
    db.close();
  }
  throw new Error(`no D1 database with a messages table under ${dir}`);
}
