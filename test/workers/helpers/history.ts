// The D1 database holding a conversation's history, as the server's readers find it
// (src/db/history-shards.ts): tests check history where it actually lives, on whichever shard.
import { env } from "cloudflare:test";
import { MAIN_DATABASE, readSettings } from "../../../src/config/settings";
import { chooseShard } from "../../../src/db/history-shards";
import { singleConversationId } from "../../../src/protocol/conversation-id";
import { newUser, type TestUser } from "./http";

/** The name of the conversation's history shard: recorded in DB, or DB when none is. */
export async function historyShardName(conversationId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT shard FROM conversation_shards WHERE conversation_id = ?")
    .bind(conversationId)
    .first<{ shard: string }>();
  return row?.shard ?? MAIN_DATABASE;
}

/** A history shard's D1 binding by name. */
export function shardD1(name: string): D1Database {
  const d1 = (env as unknown as Record<string, D1Database | undefined>)[name];
  if (!d1) throw new Error(`no D1 binding ${name}`);
  return d1;
}

/** The D1 database holding the conversation's history. */
export async function historyD1(conversationId: string): Promise<D1Database> {
  return shardD1(await historyShardName(conversationId));
}

/** Every history shard's D1 binding, by name (wrangler.toml's HISTORY_SHARDS). */
export function historyShardD1s(): [string, D1Database][] {
  return String(env.HISTORY_SHARDS)
    .split(",")
    .map((name) => [name.trim(), shardD1(name.trim())]);
}

/**
 * A new user whose one-to-one conversation with `a` hashes to `shard` among `open` (the shards
 * taking new conversations): new users until one does, so a test places a conversation where it
 * needs it.
 */
export async function partnerOnShard(
  a: TestUser,
  shard: string,
  open: readonly string[] = readSettings(env).historyShards.open,
): Promise<{ b: TestUser; conversationId: string }> {
  for (let tries = 0; tries < 64; tries++) {
    const b = await newUser("b");
    const conversationId = singleConversationId(a.userId, b.userId);
    if (chooseShard(conversationId, open) === shard) return { b, conversationId };
  }
  throw new Error(`no conversation hashed to ${shard} in 64 tries`);
}

/** Two new users whose one-to-one conversation hashes to `shard` (partnerOnShard). */
export async function pairOnShard(
  shard: string,
  open?: readonly string[],
): Promise<{ a: TestUser; b: TestUser; conversationId: string }> {
  const a = await newUser("a");
  return { a, ...(await partnerOnShard(a, shard, open)) };
}
