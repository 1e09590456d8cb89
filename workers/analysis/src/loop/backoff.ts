// Exponential backoff for in-process retries. The wait is cut into slices no longer than a third of the Kafka
// session timeout with a consumer heartbeat after each, so a retrying worker is never evicted from its group.
import { setTimeout as sleep } from "node:timers/promises";

export interface BackoffPolicy {
  backoffMs: number;
  backoffMaxMs: number;
}

/** Delay before try `nextTry` (2, 3, ...): base * 2^(nextTry-2), capped, with ±25 % jitter so that workers
 *  retrying the same outage do not hit the database in lockstep. */
export function backoffDelay(policy: BackoffPolicy, nextTry: number, random: () => number = Math.random): number {
  const exp = policy.backoffMs * 2 ** Math.max(0, nextTry - 2);
  const capped = Math.min(policy.backoffMaxMs, exp);
  return Math.max(0, Math.round(capped * (0.75 + 0.5 * random())));
}

/** Sleep `ms`, calling `heartbeat` at least every `sliceMs`; returns early (false) when `signal` aborts. */
export async function sleepWithHeartbeat(
  ms: number,
  sliceMs: number,
  heartbeat: () => Promise<void>,
  signal?: AbortSignal,
): Promise<boolean> {
  let left = ms;
  while (left > 0) {
    if (signal?.aborted) return false;
    const slice = Math.min(left, Math.max(10, sliceMs));
    try {
      await sleep(slice, undefined, { signal });
    } catch {
      return false;
    }
    left -= slice;
    await heartbeat().catch(() => undefined);
  }
  return !signal?.aborted;
}
