// drizzle-kit writes numbered SQL migrations from schema/tables.ts: `npm run db:generate`.
// wrangler applies them (`wrangler d1 migrations apply`), locally in `npm run dev` and in tests.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./schema/tables.ts",
  out: "./schema/migrations",
});
