// In-process mutual exclusion by key, for work that would otherwise wait on a PostgreSQL row lock while holding
// a pool connection. Keys are taken in sorted order (as the rows are), so two holders of overlapping key sets
// cannot deadlock. Nothing is kept for a key nobody holds or waits for.
export function createKeyedLock() {
  const tails = new Map<string, Promise<void>>();

  async function acquire(key: string): Promise<() => void> {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    };
  }

  return {
    /** runs `fn` while holding every key (taken in sorted order, released in reverse) */
    async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
      const releases: (() => void)[] = [];
      try {
        for (const key of [...new Set(keys)].sort()) releases.push(await acquire(key));
        return await fn();
      } finally {
        for (const release of releases.reverse()) release();
      }
    },
    /** keys held or waited for now (tests) */
    size: () => tails.size,
  };
}
