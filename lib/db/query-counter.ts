// The per-request query counter: the gateway's `x-db-queries` header and the bench's N+1 check.
// Counting happens in a client extension ($allOperations), which runs in the caller's async context, so an
// AsyncLocalStorage store opened per request sees every Prisma operation that request causes (each is one
// SQL round trip: the loaders never use nested `include`s that would fan out).
import { AsyncLocalStorage } from "node:async_hooks";
import type { PrismaClient } from "./generated/client.ts";

type Db = PrismaClient;

export interface QueryCounter {
  count: number;
}

const counterStore = new AsyncLocalStorage<QueryCounter>();

/** Count one statement sent outside Prisma (lib/db/sql.ts) into the request's counter, if there is one. */
export function countQuery(): void {
  const counter = counterStore.getStore();
  if (counter) counter.count += 1;
}

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
  // The extended client has the same model API; the cast lets repositories take it as a PrismaClient.
  return extended as unknown as Db;
}
