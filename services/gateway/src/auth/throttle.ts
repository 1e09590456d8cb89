// Login throttling (issue 14, finding 7a), shared by every replica through the LoginThrottle table.
// Two counters per attempt: the account ("account:<HMAC of the e-mail>", the same whether the account exists or
// not, so a lock tells nothing about existence) and the client address ("address:<ip>"). An attempt is counted
// *before* the password is checked, under a row lock, so a burst of parallel attempts cannot overtake the limit;
// a successful login gives its count back (the account's counter is forgotten, the address's decremented).
// The attempt that reaches a limit locks the counter for `base` seconds; every further failure after a lock
// expires doubles it (base, 2·base, 4·base …) up to `max`. Failures are forgotten after `memory` seconds
// without a new one. While a counter is locked, attempts are refused without any password work.
import { createHmac } from "node:crypto";
import type { LoginThrottleRepository } from "../../../../lib/db/repositories/login-throttle.ts";
import { createKeyedLock } from "./keyed-lock.ts";

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

/** A keyed hash of a login e-mail: the throttle key and the audit trail's stand-in for unknown e-mails. */
export function emailDigest(secret: string, email: string): string {
  return createHmac("sha256", secret).update(`login-email:${email.trim().toLowerCase()}`).digest("hex");
}

export function lockSeconds(limits: LoginLimits, failures: number, max: number): number {
  const doublings = Math.min(failures - max, 30);
  return Math.min(limits.lockoutMaxSeconds, limits.lockoutBaseSeconds * 2 ** doublings);
}

const PRUNE_EVERY_MS = 60_000;

export function createLoginThrottle(store: LoginThrottleRepository, secret: string, limits: LoginLimits) {
  let lastPrune = 0;
  // Attempts on the same counters queue here, not on the row lock: in PostgreSQL each waiter held a pool
  // connection, so a burst of 30 logins from one address took the whole pool and every other request waited
  // (the adversarial suite's login burst: a bystander's query took 1.1 s). Other replicas still meet at the row lock.
  const local = createKeyedLock();

  function counters(email: string, address: string | null): Counter[] {
    const list: Counter[] = [{ key: `account:${emailDigest(secret, email)}`, kind: "account", max: limits.accountMaxFailures }];
    if (address) list.push({ key: `address:${address}`, kind: "address", max: limits.addressMaxFailures });
    return list.sort((a, b) => a.key.localeCompare(b.key)); // one lock order for every transaction
  }

  /** Forgotten counters are deleted now and then (at most once a minute per replica). */
  async function prune(now: Date): Promise<void> {
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    await store.prune(new Date(now.getTime() - limits.failureMemorySeconds * 1000), now);
  }

  return {
    /** Counts an attempt, or refuses it while the account or the address is locked. */
    async reserve(email: string, address: string | null, now = new Date()): Promise<ThrottleVerdict> {
      const list = counters(email, address);
      await prune(now);
      return local.run(
        list.map((c) => c.key),
        () =>
          store.lockCounters(
            list.map((c) => c.key),
            now,
            (rows): { updates: { key: string; failures: number; lockedUntil: Date | null }[]; result: ThrottleVerdict } => {
              const locks = rows.filter((r) => r.lockedUntil && r.lockedUntil > now).map((r) => r.lockedUntil!.getTime() - now.getTime());
              if (locks.length)
                return { updates: [], result: { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...locks) / 1000)) } };
              const reservation: Reservation = { ok: true, counters: [], lockedForSeconds: null };
              const updates = list.map((counter) => {
                const row = rows.find((r) => r.key === counter.key);
                const forgotten = !row || now.getTime() - row.lastFailureAt.getTime() > limits.failureMemorySeconds * 1000;
                const failures = (forgotten ? 0 : row.failures) + 1;
                const seconds = failures >= counter.max ? lockSeconds(limits, failures, counter.max) : null;
                const lockedUntil = seconds === null ? null : new Date(now.getTime() + seconds * 1000);
                reservation.counters.push({ key: counter.key, kind: counter.kind, lockedUntil });
                if (seconds !== null) reservation.lockedForSeconds = Math.max(reservation.lockedForSeconds ?? 0, seconds);
                return { key: counter.key, failures, lockedUntil };
              });
              return { updates, result: reservation };
            },
          ),
      );
    },

    /** A successful login: the account starts afresh, the address gets this attempt (and the lock it set) back. */
    async succeeded(reservation: Reservation): Promise<void> {
      for (const counter of reservation.counters) {
        if (counter.kind === "account") await store.forget(counter.key);
        else await store.giveBack(counter.key, counter.lockedUntil);
      }
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
