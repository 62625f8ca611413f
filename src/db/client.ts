// drizzle over the D1 binding; cheap to build, so one per request or object.
import { drizzle } from "drizzle-orm/d1";
import * as tables from "../../schema/tables";

export function database(env: Env) {
  return drizzle(env.DB, { schema: tables });
}

export type Database = ReturnType<typeof database>;
