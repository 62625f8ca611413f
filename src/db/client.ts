// drizzle over the D1 binding, one per binding: building it walks the whole schema
// (extractTablesRelationalConfig), which a profile of the sparse bench scenario showed at 4–5% of
// the worker's CPU when it was built per call. Keyed by the binding, so an env with another D1 (a
// test's failing one) gets its own.
import { drizzle } from "drizzle-orm/d1";
import * as tables from "../../schema/tables";
import { meteredD1 } from "../lib/usage-meter";

function build(db: D1Database) {
  return drizzle(db, { schema: tables });
}

function buildFor(env: Env) {
  return build(meteredD1(env.DB, env));
}

export type Database = ReturnType<typeof build>;

const built = new WeakMap<D1Database, Database>();

export function database(env: Env): Database {
  let db = built.get(env.DB);
  if (!db) {
    db = buildFor(env);
    built.set(env.DB, db);
  }
  return db;
}
