// In-process publish/subscribe for subscription messages. Each gateway replica has its own instance, fed
// by its own Kafka consumer (completions) and by local publishes (QUEUED/CANCELLED transitions made here).
// Subscribers get an AsyncIterableIterator; a slow subscriber has a bounded queue and drops its oldest
// messages rather than growing without limit.
export type Listener<T> = (message: T) => void;

export class PubSub<T> {
  private readonly channels = new Map<string, Set<Listener<T>>>();

  publish(channel: string, message: T): number {
    const listeners = this.channels.get(channel);
    if (!listeners) return 0;
    for (const listener of [...listeners]) listener(message);
    return listeners.size;
  }

  listen(channel: string, listener: Listener<T>): () => void {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  subscriberCount(channel?: string): number {
    if (channel) return this.channels.get(channel)?.size ?? 0;
    let n = 0;
    for (const set of this.channels.values()) n += set.size;
    return n;
  }

  /** Iterates messages on `channel` until `return()` is called (graphql-ws does so on complete/close). */
  iterate(channel: string, maxQueued = 1000): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let waiting: ((r: IteratorResult<T>) => void) | null = null;
    let done = false;
    const unlisten = this.listen(channel, (message) => {
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: message, done: false });
      } else {
        queue.push(message);
        if (queue.length > maxQueued) queue.shift();
      }
    });
    const finish = (): IteratorResult<T> => {
      if (!done) {
        done = true;
        unlisten();
        queue.length = 0;
        if (waiting) waiting({ value: undefined, done: true });
        waiting = null;
      }
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift() as T, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => Promise.resolve(finish()),
      throw: (error?: unknown) => {
        finish();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
