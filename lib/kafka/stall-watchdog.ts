// Notices a consumer that is in its group but no longer makes progress, so it can be restarted. Seen in the
// 3-broker fault runs (issue 14): after the group coordinator's broker restarted, kafkajs kept sending offset
// commits to it ("not the correct coordinator") and fetched nothing for 141 s; after a broker was lost for good,
// it stopped fetching the partitions that broker had led until its next metadata refresh. Both times its handlers
// were idle and readiness said ready. A restart (new connections, fresh metadata, a fresh coordinator lookup)
// is the remedy kafkajs applies itself after a crash, so the watchdog only has to decide when.
//
// Stalled means: on one of the consumer's assigned partitions the group's committed offset stays below the
// high-water mark and does not move for `stallAfterMs`, while none of its handlers is working (a slow handler is
// not a stall). Or: an offset commit has been on its way for `commitStuckAfterMs` (kafkajs retries a commit
// refused by a stale coordinator for minutes; a healthy one takes milliseconds, a coordinator fail-over seconds). Or: its offset commits failed
// `commitFailuresBeforeRestart` times in a row. Or: its progress could not be read at all for `unobservableAfterMs`
// (a CI run of the 3-broker test: after the broker was lost, 3 studies' requests stayed unconsumed for 180 s while
// the watchdog saw nothing, because a member that is not joined, or an admin client whose metadata still names the
// lost broker, gives no sample; waiting for a sample there means waiting forever).

export interface PartitionProgress {
  topic: string;
  partition: number;
  /** the group's committed offset (the partition's low-water mark when the group never committed) */
  committed: bigint;
  high: bigint;
}

export interface StallInfo {
  reason: "no-progress" | "commit-stuck" | "commit-failures" | "unobservable";
  /** partitions with lag whose committed offset has not moved for stalledForMs (none when unobservable) */
  partitions: { topic: string; partition: number; lag: string }[];
  stalledForMs: number;
  commitFailures: number;
}

export interface StallWatchdogOptions {
  stallAfterMs: number;
  commitStuckAfterMs: number;
  checkEveryMs: number;
  commitFailuresBeforeRestart: number;
  /** progress unreadable for this long (not joined, or no broker answers the sampler) is a stall too */
  unobservableAfterMs: number;
  /** the assigned partitions' progress; undefined when it cannot be read now (not joined, broker unreachable) */
  sample(): Promise<PartitionProgress[] | undefined>;
  /** a handler is at work (commits in progress do not count: a stuck commit is what this watches for) */
  busy(): boolean;
  /** offset commits that failed in a row since the last one that succeeded */
  commitFailures(): number;
  /** how long the oldest offset commit still in progress has been on its way (0: none) */
  commitPendingMs(): number;
  onStall(info: StallInfo): void | Promise<void>;
  now?: () => number;
}

export interface StallWatchdog {
  start(): void;
  /** no more checks; resolves once a check in progress has ended */
  stop(): Promise<void>;
  /** one check now (the timer calls this); resolves with the stall it found, if any */
  check(): Promise<StallInfo | undefined>;
  /** forget what was seen (after a restart or a re-join: offsets are read afresh) */
  reset(): void;
}

interface Seen {
  committed: bigint;
  /** when this partition was last seen moving or without lag */
  since: number;
}

export function createStallWatchdog(options: StallWatchdogOptions): StallWatchdog {
  const now = options.now ?? Date.now;
  const seen = new Map<string, Seen>();
  // when the current run of unreadable samples began (undefined: the last sample was read)
  let blindSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<StallInfo | undefined> | undefined;

  async function evaluate(): Promise<StallInfo | undefined> {
    const failures = options.commitFailures();
    if (failures >= options.commitFailuresBeforeRestart) {
      return { reason: "commit-failures", partitions: [], stalledForMs: 0, commitFailures: failures };
    }
    const pendingMs = options.commitPendingMs();
    if (pendingMs >= options.commitStuckAfterMs) {
      return { reason: "commit-stuck", partitions: [], stalledForMs: pendingMs, commitFailures: failures };
    }
    const sample = await options.sample().catch(() => undefined);
    const t = now();
    if (!sample) {
      blindSince ??= t;
      const blindForMs = t - blindSince;
      if (blindForMs < options.unobservableAfterMs) return undefined;
      return { reason: "unobservable", partitions: [], stalledForMs: blindForMs, commitFailures: failures };
    }
    blindSince = undefined;
    const busy = options.busy();
    const current = new Set<string>();
    const stuck: StallInfo["partitions"] = [];
    let stalledForMs = 0;
    for (const p of sample) {
      const key = `${p.topic}/${p.partition}`;
      current.add(key);
      const previous = seen.get(key);
      const lagging = p.high > p.committed;
      if (!previous || !lagging || previous.committed !== p.committed || busy) {
        seen.set(key, { committed: p.committed, since: t });
        continue;
      }
      const forMs = t - previous.since;
      if (forMs >= options.stallAfterMs) {
        stuck.push({ topic: p.topic, partition: p.partition, lag: (p.high - p.committed).toString() });
        stalledForMs = Math.max(stalledForMs, forMs);
      }
    }
    // partitions no longer assigned (a rebalance) are forgotten
    for (const key of seen.keys()) if (!current.has(key)) seen.delete(key);
    if (stuck.length === 0) return undefined;
    return { reason: "no-progress", partitions: stuck, stalledForMs, commitFailures: failures };
  }

  async function check(): Promise<StallInfo | undefined> {
    // one check at a time: a slow sample must not pile up behind the timer
    checking ??= (async () => {
      try {
        const stall = await evaluate();
        if (stall) {
          seen.clear();
          blindSince = undefined;
          await options.onStall(stall);
        }
        return stall;
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void check().catch(() => undefined), options.checkEveryMs);
      timer.unref?.();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      seen.clear();
      blindSince = undefined;
      await checking?.catch(() => undefined);
    },
    check,
    reset: () => {
      seen.clear();
      blindSince = undefined;
    },
  };
}
