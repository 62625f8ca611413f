// A stable hash for spreading names over a fixed set of objects (writers, gauge shards).

/** FNV-1a over the text's UTF-16 code units: stable, cheap, and spread well enough for a modulo. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
