// A small typed event emitter: listeners keyed by event name, payload typed by an event map.

export type Listener<T> = (payload: T) => void;

/**
 * Emits events named by the keys of `Events`, each with its own payload type. A listener that
 * throws does not stop the others; its error goes to `onListenerError`.
 *
 * @example
 * const off = emitter.on("message", (m) => console.log(m.text));
 * off(); // unsubscribes
 */
export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Subscribes for one event only. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Resolves with the next payload of `event` that passes `filter`. */
  next<K extends keyof Events>(
    event: K,
    filter: (payload: Events[K]) => boolean = () => true,
  ): Promise<Events[K]> {
    return new Promise((resolve) => {
      const off = this.on(event, (payload) => {
        if (!filter(payload)) return;
        off();
        resolve(payload);
      });
    });
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set] as Listener<Events[K]>[]) {
      try {
        listener(payload);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
  }

  /** Where a throwing listener's error goes; subclasses route it to their error event. */
  protected onListenerError(event: keyof Events, error: unknown): void {
    console.error(`listener for "${String(event)}" threw`, error);
  }
}
