// Message ids (server_msg_id) are ULIDs: time-ordered, 26 characters. ulid() asks
// crypto.getRandomValues for each of its 16 random characters, one call each; drawing them from a
// pooled buffer of the same random source costs one call per 256 draws instead.
import { ulid } from "ulid";

const pool = new Uint32Array(256);
let next = pool.length;

function pooledRandom(): number {
  if (next === pool.length) {
    crypto.getRandomValues(pool);
    next = 0;
  }
  return (pool[next++] as number) / 0x1_0000_0000;
}

export function newMessageId(now: number = Date.now()): string {
  return ulid(now, pooledRandom);
}
