// The LoginThrottle counters shared by every gateway replica (the rules are services/gateway/src/auth/throttle.ts).
import { Prisma, type PrismaClient } from "../generated/client.ts";
import { TX_OPTIONS, type Tx } from "../client.ts";

export interface ThrottleRow {
  key: string;
  failures: number;
  lastFailureAt: Date;
  lockedUntil: Date | null;
}

export function createLoginThrottleRepository(prisma: PrismaClient) {
  return {
    /** Forgotten counters: no failure since `cutoff` and no lock running at `now`. */
    async prune(cutoff: Date, now: Date): Promise<void> {
      await prisma.loginThrottle.deleteMany({
        where: { lastFailureAt: { lt: cutoff }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
      });
    },
    /**
     * Runs `decide` on the counters' rows, created if missing and locked (FOR UPDATE, in key order) for the
     * transaction; `decide` returns the updates to write, then its result is returned.
     */
    lockCounters<T>(
      keys: string[],
      now: Date,
      decide: (rows: ThrottleRow[]) => { updates: { key: string; failures: number; lockedUntil: Date | null }[]; result: T },
    ): Promise<T> {
      return prisma.$transaction(async (tx: Tx) => {
        await tx.loginThrottle.createMany({ data: keys.map((key) => ({ key, failures: 0, lastFailureAt: now })), skipDuplicates: true });
        const rows = await tx.$queryRaw<ThrottleRow[]>`
          SELECT "key", "failures", "lastFailureAt", "lockedUntil" FROM "LoginThrottle"
          WHERE "key" IN (${Prisma.join(keys)}) ORDER BY "key" FOR UPDATE`;
        const { updates, result } = decide(rows);
        for (const u of updates)
          await tx.loginThrottle.update({
            where: { key: u.key },
            data: { failures: u.failures, lastFailureAt: now, lockedUntil: u.lockedUntil },
          });
        return result;
      }, TX_OPTIONS);
    },
    forget: async (key: string) => {
      await prisma.loginThrottle.deleteMany({ where: { key } });
    },
    /** One failure given back, and the lock this attempt set (if it is still the one in place) lifted. */
    async giveBack(key: string, lockedUntil: Date | null): Promise<void> {
      await prisma.loginThrottle.updateMany({ where: { key, failures: { gt: 0 } }, data: { failures: { decrement: 1 } } });
      if (lockedUntil) await prisma.loginThrottle.updateMany({ where: { key, lockedUntil }, data: { lockedUntil: null } });
    },
  };
}

export type LoginThrottleRepository = ReturnType<typeof createLoginThrottleRepository>;
