// Login throttling (issue 14, finding 7a), shared by every replica through the LoginThrottle table.
// Two counters per attempt: the account ("account:<HMAC of the e-mail>", the same whether the account exists or
// not, so a lock tells nothing about existence) and the client address ("address:<ip>"). An attempt is counted
// *before* the password is checked, under a row lock, so a burst of parallel attempts cannot overtake the limit;
// a successful login gives its count back (the account's counter is forgotten, the address's decremented).
// The attempt that reaches a limit locks the counter for `base` seconds; every further failure after a lock
// expires doubles it (base, 2·base, 4·base …) up to `max`. Failures are forgotten after `memory` seconds
// without a new one. While a counter is locked, attempts are refused without any password work.
import { createHmac } from "node:crypto";
import { Prisma } from "../../../../lib/db/generated/client.ts";
import type { Db } from "../repositories-ext/db.ts";
import { TX_OPTIONS } from "../repositories-ext/reviews.ts";

export interface LoginLimits {
  accountMaxFailures: number;
  addressMaxFailures: number;
  lockoutBaseSeconds: number;
  lockoutMaxSeconds: number;
  failureMemorySeconds: number;
}

interface Counter {
  key: string;
  kind: "account" | "address";
  max: number;
}

/** A counted attempt: what to give back on success, and the lock it starts if it fails. */
export interface Reservation {
  ok: true;
  counters: { key: string; kind: Counter["kind"]; lockedUntil: Date | null }[];
  /** seconds of the lock this attempt started (it reached a limit), else null */
  lockedForSeconds: number | null;
}

export type ThrottleVerdict = Reservation | { ok: false; retryAfterSeconds: number };

interface Row {
  key: string;
  failures: number;
  lastFailureAt: Date;
  lockedUntil: Date | null;
}

/** A keyed hash of a login e-mail: the throttle key and the audit trail's stand-in for unknown e-mails. */
export function emailDigest(secret: string, email: string): string {
  return createHmac("sha256", secret).update(`login-email:${email.trim().toLowerCase()}`).digest("hex");
}

export function lockSeconds(limits: LoginLimits, failures: number, max: number): number {
  const doublings = Math.min(failures - max, 30);
  return Math.min(limits.lockoutMaxSeconds, limits.lockoutBaseSeconds * 2 ** doublings);
}

const PRUNE_EVERY_MS = 60_000;

export function createLoginThrottle(db: Db, secret: string, limits: LoginLimits) {
  let lastPrune = 0;

  function counters(email: string, address: string | null): Counter[] {
    const list: Counter[] = [{ key: `account:${emailDigest(secret, email)}`, kind: "account", max: limits.accountMaxFailures }];
    if (address) list.push({ key: `address:${address}`, kind: "address", max: limits.addressMaxFailures });
    return list.sort((a, b) => a.key.localeCompare(b.key)); // one lock order for every transaction
  }

  /** Forgotten counters are deleted now and then (at most once a minute per replica). */
  async function prune(now: Date): Promise<void> {
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    const cutoff = new Date(now.getTime() - limits.failureMemorySeconds * 1000);
    await db.loginThrottle.deleteMany({
      where: { lastFailureAt: { lt: cutoff }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
    });
  }

  return {
    /** Counts an attempt, or refuses it while the account or the address is locked. */
    async reserve(email: string, address: string | null, now = new Date()): Promise<ThrottleVerdict> {
      const list = counters(email, address);
      await prune(now);
      return db.$transaction(async (tx) => {
        await tx.loginThrottle.createMany({
          data: list.map((c) => ({ key: c.key, failures: 0, lastFailureAt: now })),
          skipDuplicates: true,
        });
        const rows = await tx.$queryRaw<Row[]>`
          SELECT "key", "failures", "lastFailureAt", "lockedUntil" FROM "LoginThrottle"
          WHERE "key" IN (${Prisma.join(list.map((c) => c.key))}) ORDER BY "key" FOR UPDATE`;
        const locks = rows.filter((r) => r.lockedUntil && r.lockedUntil > now).map((r) => r.lockedUntil!.getTime() - now.getTime());
        if (locks.length) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...locks) / 1000)) };
        const reservation: Reservation = { ok: true, counters: [], lockedForSeconds: null };
        for (const counter of list) {
          const row = rows.find((r) => r.key === counter.key);
          const forgotten = !row || now.getTime() - row.lastFailureAt.getTime() > limits.failureMemorySeconds * 1000;
          const failures = (forgotten ? 0 : row.failures) + 1;
          const seconds = failures >= counter.max ? lockSeconds(limits, failures, counter.max) : null;
          const lockedUntil = seconds === null ? null : new Date(now.getTime() + seconds * 1000);
          await tx.loginThrottle.update({ where: { key: counter.key }, data: { failures, lastFailureAt: now, lockedUntil } });
          reservation.counters.push({ key: counter.key, kind: counter.kind, lockedUntil });
          if (seconds !== null) reservation.lockedForSeconds = Math.max(reservation.lockedForSeconds ?? 0, seconds);
        }
        return reservation;
      }, TX_OPTIONS);
    },

    /** A successful login: the account starts afresh, the address gets this attempt (and the lock it set) back. */
    async succeeded(reservation: Reservation): Promise<void> {
      for (const counter of reservation.counters) {
        if (counter.kind === "account") {
          await db.loginThrottle.deleteMany({ where: { key: counter.key } });
          continue;
        }
        await db.loginThrottle.updateMany({ where: { key: counter.key, failures: { gt: 0 } }, data: { failures: { decrement: 1 } } });
        if (counter.lockedUntil) {
          await db.loginThrottle.updateMany({ where: { key: counter.key, lockedUntil: counter.lockedUntil }, data: { lockedUntil: null } });
        }
      }
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
