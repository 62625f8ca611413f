// Ids of the objects an object calls again and again (a conversation's members, a user's
// conversations, a room's relays), kept so that a call does not hash the name again: getByName
// does at every call, a visible share of a lone message's send in the profile
// (docs/PERFORMANCE.md). The stub is made afresh from the kept id for every call, never kept:
//
// - Calls through a stub that outlives its request leave garbage only a major collection frees.
//   Measured on the baseline relay at 380 calls/s: with one kept stub per receiver the isolate's
//   heap grew ~1.4 MB/s, none of it freed by the young-generation collector; with a stub per call
//   made from a kept id it stayed within 1–7 MB. In the server the kept stubs (two calls per
//   message) brought a stop-the-world collection every ~5 s that held the one thread for 60–110 ms,
//   the largest part of the latency tail at a quarter of the maximum rate.
// - A stub through which a call failed fails every later call, until a new one is made (Cloudflare,
//   "Durable Object Stub"; a reset of the object called, such as a deploy or an overload, does
//   it). A stub per call is always a working one.

/** Member ids a conversation keeps per pump (its member list is what bounds them first). */
export const MEMBER_IDS_KEPT = 5_000;

export class ObjectIds<K, S> {
  private readonly ids = new Map<K, DurableObjectId>();

  constructor(
    private readonly idOf: (key: K) => DurableObjectId,
    private readonly stubOf: (id: DurableObjectId) => S,
    /** Ids kept at most; past it the one kept longest goes (it is made again if called again). */
    private readonly max: number,
  ) {}

  /** A new stub of the object `key` names. */
  stub(key: K): S {
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.ids.size >= this.max) {
        const oldest = this.ids.keys().next();
        if (!oldest.done) this.ids.delete(oldest.value);
      }
      id = this.idOf(key);
      this.ids.set(key, id);
    }
    return this.stubOf(id);
  }

  /** Calls the object `key` names through a new stub. */
  async call<R>(key: K, use: (stub: S) => PromiseLike<R>): Promise<R> {
    return await use(this.stub(key));
  }
}

/**
 * Ids of one namespace's objects by name. `namespace` is read at each call (a test may swap the env
 * for one with other D1 bindings); a kept id belongs to the namespace it was made in.
 */
export function namedObjects<K, T extends Rpc.DurableObjectBranded | undefined>(
  namespace: () => DurableObjectNamespace<T>,
  name: (key: K) => string,
  max: number,
): ObjectIds<K, DurableObjectStub<T>> {
  return new ObjectIds(
    (key) => namespace().idFromName(name(key)),
    (id) => namespace().get(id),
    max,
  );
}
