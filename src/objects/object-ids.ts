// Stubs of the objects an object calls again and again (a conversation's members, a user's
// conversations, a room's relays), kept instead of made per call: getByName hashes the name into an
// id each time, a visible share of a lone message's send in the profile (docs/PERFORMANCE.md).
//
// A kept stub must be dropped once a call through it failed: after an exception every later call on
// that stub fails too, until a new one is made (Cloudflare, "Durable Object Stub"; a reset of the
// object called, such as a deploy or an overload, does it). A pump that kept its stub would then
// retry through the broken one forever.

/** Member stubs a conversation keeps per pump (its member list is what bounds them first). */
export const MEMBER_STUBS_KEPT = 5_000;

export class StubCache<K, S> {
  private readonly stubs = new Map<K, S>();

  constructor(
    private readonly make: (key: K) => S,
    /** Stubs kept at most; past it the one kept longest goes (it is made again if called again). */
    private readonly max: number,
  ) {}

  get(key: K): S {
    let stub = this.stubs.get(key);
    if (stub === undefined) {
      if (this.stubs.size >= this.max) {
        const oldest = this.stubs.keys().next();
        if (!oldest.done) this.stubs.delete(oldest.value);
      }
      stub = this.make(key);
      this.stubs.set(key, stub);
    }
    return stub;
  }

  /** Calls through the kept stub; if the call fails, the stub is forgotten and the error goes on. */
  async call<R>(key: K, use: (stub: S) => PromiseLike<R>): Promise<R> {
    try {
      return await use(this.get(key));
    } catch (error) {
      this.forget(key);
      throw error;
    }
  }

  /** A call through the stub failed: the next call gets a new one. */
  forget(key: K): void {
    this.stubs.delete(key);
  }
}
