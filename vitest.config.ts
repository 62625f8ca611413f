// Three test projects:
// - workers: runs inside workerd (@cloudflare/vitest-plugin) with the real Durable Objects, a real
//   local D1 migrated from schema/migrations, and real WebSockets through the worker's fetch.
// - node: checks that run on Node, and the end-to-end test that drives a real `wrangler dev`.
// - chaos: crash consistency, `wrangler dev` killed with SIGKILL mid-stream and restarted on its state
//   (`npm run test:chaos`; docs/RELIABILITY.md).
// - browser: the web chat page in Debian's chromium (playwright-core) against `wrangler dev`.
import { randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                // A fresh secret per run: nothing secret lives in the repo.
                JWT_SECRET: randomBytes(32).toString("hex"),
                // The admin API's credential; tests read it from env.ADMIN_TOKEN.
                ADMIN_TOKEN: randomBytes(32).toString("hex"),
                // The lowest bcrypt cost keeps registration cheap in tests; the algorithm is the same.
                BCRYPT_COST: "4",
                // Tests send hundreds of messages back to back; the rate limit has its own test.
                SEND_RATE_PER_SECOND: "100000",
                SEND_BURST: "100000",
                SOCKET_REQUESTS_PER_SECOND: "100000",
                SOCKET_REQUEST_BURST: "100000",
                // Tests poll searches until history reaches D1; the search throttle has its own test.
                SEARCHES_PER_MINUTE: "1000",
                TEST_MIGRATIONS: await readD1Migrations("./schema/migrations"),
                // Push through a team's webhook, so devices can register (test/workers/push.test.ts,
                // which never sends them a message: nothing listens here; test/node/push-e2e.test.ts
                // sends through stand-ins).
                PUSH_WEBHOOK_URL: "http://127.0.0.1:9/push",
                PUSH_WEBHOOK_SECRET: randomBytes(32).toString("hex"),
                // The README's way to take message search out before `wrangler d1 export`.
                TEST_SEARCH_INDEX_SQL: await readD1Migrations("./schema/search-index"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["./test/workers/setup.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "chaos",
          environment: "node",
          include: ["test/chaos/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          include: ["test/browser/**/*.test.ts"],
          // A browser and wrangler dev on a shared 2-core machine: generous, never a speed test.
          testTimeout: 600_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
