// Per-principal rate limits and a global concurrency budget for GraphQL operations (issue 14): one client
// cannot starve the others. A token bucket per principal (user session's user, API key, or client address
// when anonymous), charged by the operation's estimated cost, refuses with a retry time; a principal may have
// only so many operations executing at once; and the whole gateway runs at most `maxInFlight` operations,
// queueing a bounded number more for a bounded time. Memory is bounded: idle buckets are evicted oldest first.
//
// Why not graphql-armor: its plugins cover the document limits we already enforce in linear time before
// parsing finishes (graphql/limits/), and it has no per-principal rate limit or concurrency budget; a
// dependency for neither would not remove any of this code.

export interface RateLimitOptions {
  /** tokens a principal may spend at once (the burst) */
  burst: number;
  /** tokens added per second */
  refillPerSecond: number;
  /** a document's estimated cost buys this many tokens more than the base 1 per `costPerToken` */
  costPerToken: number;
  /** operations one principal may have executing at once */
  perPrincipalInFlight: number;
  /** operations the gateway executes at once */
  maxInFlight: number;
  /** operations that may wait for a free slot */
  maxQueued: number;
  /** how long one may wait before it is refused */
  maxWaitMs: number;
  /** buckets kept in memory (least recently used evicted first) */
  maxKeys: number;
}

export type Admission =
  | { ok: true; release: () => void }
  | { ok: false; status: 429 | 503; code: "RATE_LIMITED" | "OVERLOADED"; retryAfterMs: number; message: string };

interface Bucket {
  tokens: number;
  at: number;
  inFlight: number;
}

export interface OperationLimiter {
  /** admits one operation of `cost` for `key`, waiting for a global slot when needed */
  admit(key: string, cost: number): Promise<Admission>;
  stats(): { inFlight: number; queued: number; keys: number };
}

export function createOperationLimiter(options: RateLimitOptions, now: () => number = Date.now): OperationLimiter {
  const buckets = new Map<string, Bucket>();
  const waiting: { resolve: (granted: boolean) => void; timer: NodeJS.Timeout }[] = [];
  let inFlight = 0;

  function bucketOf(key: string, t: number): Bucket {
    let b = buckets.get(key);
    if (b) {
      buckets.delete(key); // re-insert: Map order is the LRU order
      b.tokens = Math.min(options.burst, b.tokens + ((t - b.at) / 1000) * options.refillPerSecond);
      b.at = t;
    } else {
      b = { tokens: options.burst, at: t, inFlight: 0 };
      for (const [k, old] of buckets) {
        if (buckets.size < options.maxKeys) break;
        if (old.inFlight === 0) buckets.delete(k);
      }
    }
    buckets.set(key, b);
    return b;
  }

  function acquireGlobal(): Promise<boolean> {
    if (inFlight < options.maxInFlight) {
      inFlight += 1;
      return Promise.resolve(true);
    }
    if (waiting.length >= options.maxQueued) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          const i = waiting.indexOf(entry);
          if (i >= 0) waiting.splice(i, 1);
          resolve(false);
        }, options.maxWaitMs),
      };
      waiting.push(entry);
    });
  }

  function releaseGlobal(): void {
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(true); // the slot passes straight to the next waiter
    } else {
      inFlight -= 1;
    }
  }

  return {
    async admit(key, cost) {
      const t = now();
      const b = bucketOf(key, t);
      const price = 1 + Math.floor(Math.max(0, cost) / options.costPerToken);
      if (b.inFlight >= options.perPrincipalInFlight) {
        return {
          ok: false,
          status: 429,
          code: "RATE_LIMITED",
          retryAfterMs: 1000,
          message: `Too many operations at once: at most ${options.perPrincipalInFlight} may run for one caller.`,
        };
      }
      if (b.tokens < price) {
        const retryAfterMs = Math.ceil(((price - b.tokens) / options.refillPerSecond) * 1000);
        return {
          ok: false,
          status: 429,
          code: "RATE_LIMITED",
          retryAfterMs,
          message: `Rate limit reached: retry in ${Math.ceil(retryAfterMs / 1000)} s (operations are charged by their estimated cost).`,
        };
      }
      b.tokens -= price;
      b.inFlight += 1;
      if (!(await acquireGlobal())) {
        b.inFlight -= 1;
        return { ok: false, status: 503, code: "OVERLOADED", retryAfterMs: 1000, message: "The gateway is at capacity: retry shortly." };
      }
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          b.inFlight -= 1;
          releaseGlobal();
        },
      };
    },
    stats: () => ({ inFlight, queued: waiting.length, keys: buckets.size }),
  };
}

/** The bucket key of a caller: the principal when authenticated, else the client address. */
export function limiterKey(principal: { kind: string; id: string } | null, address: string | null): string {
  return principal ? `${principal.kind}:${principal.id}` : `address:${address ?? "unknown"}`;
}
