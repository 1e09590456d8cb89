// The Prisma client type the gateway works with, and the per-request query counter.
// Counting happens in a client extension ($allOperations), which runs in the caller's async context, so an
// AsyncLocalStorage store opened per request sees every Prisma operation that request causes (each is one
// SQL round trip: the loaders never use nested `include`s that would fan out).
import { AsyncLocalStorage } from "node:async_hooks";
import type { PrismaClient } from "../../../../lib/db/generated/client.ts";

export type Db = PrismaClient;
/** Alias used where the core `Db` handle (lib/db) is also in scope. */
export type Client = PrismaClient;

export interface QueryCounter {
  count: number;
}

const counterStore = new AsyncLocalStorage<QueryCounter>();

export function runWithQueryCounter<T>(counter: QueryCounter, fn: () => T): T {
  return counterStore.run(counter, fn);
}

/** A client that counts its operations into the request's counter (when there is one). */
export function countingClient(db: Db): Db {
  const extended = db.$extends({
    query: {
      async $allOperations({ args, query }) {
        const counter = counterStore.getStore();
        if (counter) counter.count += 1;
        return query(args);
      },
    },
  });
  // The extended client has the same model API; the cast keeps one client type across the gateway.
  return extended as unknown as Db;
}
