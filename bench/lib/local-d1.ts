// The server's local D1 databases under `wrangler dev --persist-to DIR`: the main one migrated the
// way scripts/dev.mjs does it, and opened with node:sqlite (the search scenario writes its history
// there before the server starts: conversations with no recorded shard read from DB); the d1-lag
// scenario reads every history shard's.
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

/** Every local D1 database file under v3/d1 that has the history table (DB and each history shard). */
export function openLocalHistoryD1s(persistDir: string, options: { readOnly: boolean }): DatabaseSync[] {
  const dir = join(persistDir, "v3/d1/miniflare-D1DatabaseObject");
  const found: DatabaseSync[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".sqlite") || name === "metadata.sqlite") continue;
    const db = new DatabaseSync(join(dir, name), options);
    const history = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'")
      .get();
    if (history) found.push(db);
    else db.close();
  }
  if (found.length === 0) throw new Error(`no D1 database with a messages table under ${dir}`);
  return found;
}

/**
 * The main local D1 database, before the server first starts: migrateLocalD1 has made only that one
 * (scripts/dev.mjs migrates the history shards when the server starts).
 */
export function openLocalD1(persistDir: string, options: { readOnly: boolean }): DatabaseSync {
  const [db, ...others] = openLocalHistoryD1s(persistDir, options);
  if (others.length > 0) {
    for (const other of [db, ...others]) other?.close();
    throw new Error(`several D1 databases under ${persistDir}: open the main one before the server starts`);
  }
  return db as DatabaseSync;
}
