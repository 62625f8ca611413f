// Applies the D1 migrations (schema/migrations) before each test file to every D1 database the
// worker has: the main one (DB) and each history shard (wrangler.toml), one schema everywhere.
import { applyD1Migrations, env } from "cloudflare:test";
import { isD1 } from "../../src/config/settings";

for (const binding of Object.values(env)) {
  if (isD1(binding)) await applyD1Migrations(binding as D1Database, env.TEST_MIGRATIONS);
}
