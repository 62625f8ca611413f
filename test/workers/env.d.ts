// Bindings only the test runner adds (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_SEARCH_INDEX_SQL: import("cloudflare:test").D1Migration[];
  }
}
