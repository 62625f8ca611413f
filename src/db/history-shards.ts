// The history shard map: which D1 database holds a conversation's history. History is spread over
// the D1 bindings HISTORY_SHARDS lists (DB, the main database, among them) so that no single
// database holds all of it (10 GB, one query at a time). A conversation's shard is chosen by its
// object before its first history row is written (its id hashed over HISTORY_SHARDS_OPEN), recorded
// here in the main database's `conversation_shards`, and never changes: a shard added later takes
// only new conversations, and nothing is ever moved. A conversation with no record has its history
// in DB, where all history went before shards. Every reader of history goes through this module.
//
//   conversation id --> conversation_shards (in DB) --> "HISTORY_1" --> env.HISTORY_1 (messages, search)
//                        no row: "DB" (history from before shards)
import { sql } from "drizzle-orm";
import { isD1, MAIN_DATABASE, type Settings } from "../config/settings";
import { hash } from "../lib/hash";
import { database, databaseOn, type Database } from "./client";

/** One history shard: its binding's name (what is recorded) and its database. */
export interface HistoryShard {
  name: string;
  db: Database;
}

/** The shard a new conversation's history is placed on: its id hashed over the open shards. */
export function chooseShard(conversationId: string, open: readonly string[]): string {
  return open[hash(conversationId) % open.length] ?? MAIN_DATABASE;
}

/** A recorded shard the Worker has no D1 binding for: a shard was removed from wrangler.toml. */
export class ShardMissing extends Error {
  constructor(readonly shard: string) {
    super(
      `history shard ${shard} is not a D1 binding of this Worker (it holds history: never remove a shard)`,
    );
    this.name = "ShardMissing";
  }
}

/** Shard `name`'s database in `env`; throws ShardMissing when `env` has no such D1 binding. */
export function shardDatabase(env: Env, name: string): Database {
  const d1: unknown = (env as unknown as Record<string, unknown>)[name];
  if (!isD1(d1)) throw new ShardMissing(name);
  return databaseOn(d1 as D1Database, env);
}

/** Every history shard listed, in order: a search or an admin count asks each. */
export function allShards(env: Env, settings: Settings): HistoryShard[] {
  return settings.historyShards.all.map((name) => ({ name, db: shardDatabase(env, name) }));
}

/**
 * Recorded shards this isolate has read. A record never changes, so it is kept; an absent one is
 * not (the conversation may record one any time). Bounded: the oldest entry goes first.
 */
const known = new Map<string, string>();
const KNOWN_MAX = 10_000;

function remember(conversationId: string, shard: string): void {
  if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value as string);
  known.set(conversationId, shard);
}

/**
 * Records `chosen` as the conversation's shard unless one is recorded already, and answers the one
 * recorded: INSERT OR IGNORE, then read back, in one batch, so two attempts (a crash between the
 * record and the object's own copy of it, settings changed meanwhile) can never give two answers.
 * A conversation DB already holds rows of (copied before shards existed, even when the object lost
 * track of it: reset, or a copy answered too late) is recorded on DB whatever was chosen, so its
 * history is never split and no row is ever in two databases.
 */
export async function recordShard(env: Env, conversationId: string, chosen: string): Promise<string> {
  const d1 = database(env).$client;
  const [, read] = await d1.batch<{ shard: string }>([
    d1
      .prepare(
        `INSERT OR IGNORE INTO conversation_shards (conversation_id, shard)
         SELECT ?1, CASE WHEN EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1) THEN ?2 ELSE ?3 END`,
      )
      .bind(conversationId, MAIN_DATABASE, chosen),
    d1.prepare("SELECT shard FROM conversation_shards WHERE conversation_id = ?").bind(conversationId),
  ]);
  const shard = read?.results[0]?.shard;
  if (shard === undefined) throw new Error(`conversation_shards lost the row of ${conversationId}`);
  remember(conversationId, shard);
  return shard;
}

/** The name of the shard holding the conversation's history: recorded, or DB when none is. */
export async function shardNameOf(env: Env, conversationId: string): Promise<string> {
  const cached = known.get(conversationId);
  if (cached !== undefined) return cached;
  const row = await database(env).get<{ shard: string }>(
    sql`SELECT shard FROM conversation_shards WHERE conversation_id = ${conversationId}`,
  );
  if (!row) return MAIN_DATABASE;
  remember(conversationId, row.shard);
  return row.shard;
}

/** The shard holding the conversation's history. */
export async function shardOf(env: Env, conversationId: string): Promise<HistoryShard> {
  const name = await shardNameOf(env, conversationId);
  return { name, db: shardDatabase(env, name) };
}
