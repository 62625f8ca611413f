// drizzle over a D1 binding, one per binding: building it walks the whole schema
// (extractTablesRelationalConfig), which a profile of the sparse bench scenario showed at 4–5% of
// the worker's CPU when it was built per call. Keyed by the binding, so an env with another D1 (a
// test's failing one) gets its own. `database(env)` is the main database (DB); a history shard's is
// reached through src/db/history-shards.ts.
import { drizzle } from "drizzle-orm/d1";
import * as tables from "../../schema/tables";
import { meteredD1 } from "../lib/usage-meter";

function build(db: D1Database) {
  return drizzle(db, { schema: tables });
}

export type Database = ReturnType<typeof build>;

const built = new WeakMap<D1Database, Database>();

/** The drizzle client of one D1 binding of `env`, built once per binding. */
export function databaseOn(d1: D1Database, env: object): Database {
  let db = built.get(d1);
  if (!db) {
    db = build(meteredD1(d1, env));
    built.set(d1, db);
  }
  return db;
}

/** The main database: users, sessions, social, groups, the shard map, and history shard 0. */
export function database(env: Env): Database {
  return databaseOn(env.DB, env);
}
