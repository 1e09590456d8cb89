// Batch mode of the consumer: the messages of one fetched partition batch are handled up to `concurrency` at a
// time, and offsets are committed as a contiguous prefix only (offset n+1 once messages ..n are all handled), so
// a crash at any point redelivers every message whose offset was not committed and loses none. Commits are
// coalesced: completions of one event-loop turn share a commit (it goes out on the next turn, setImmediate), and
// while one is on its way, later completions wait and go out as a single commit of the newest prefix. Each commit
// is an OffsetCommit request and a write to __consumer_offsets on the broker: handlers that finish together (the
// gateway's subscription wake-ups, all of a batch at once) cost one, not one each.

export interface BatchMessage {
  offset: string;
}

export interface BatchRun<M extends BatchMessage> {
  messages: M[];
  /** mark offset as processed for kafkajs' own bookkeeping (where the next fetch starts) */
  resolveOffset(offset: string): void;
  /** commit `nextOffset` (= last handled offset + 1) for this partition */
  commit(nextOffset: string): Promise<void>;
  heartbeat(): Promise<void>;
  /** false once the consumer stops or the partition was revoked / seeked: launch nothing new */
  canContinue(): boolean;
  /** intake stopped by drain(): leave the rest of the batch uncommitted and do not throw */
  stopping(): boolean;
  /** stop fetching this partition (used when stopping, so kafkajs does not re-fetch in a loop) */
  pause(): void;
}

export async function handleBatchConcurrently<M extends BatchMessage>(
  run: BatchRun<M>,
  concurrency: number,
  handle: (message: M) => Promise<void>,
): Promise<void> {
  const { messages } = run;
  const done = new Array<boolean>(messages.length).fill(false);
  let launched = 0;
  let prefix = 0; // messages[0..prefix) are handled (and resolved)
  let sent = 0; // messages[0..sent) are committed
  let failure: { error: unknown } | undefined;
  let commitError: { error: unknown } | undefined;
  let flushing: Promise<void> | undefined;
  let flushScheduled = false;
  const inFlight = new Set<Promise<void>>();

  const flush = (): Promise<void> =>
    (flushing ??= (async () => {
      try {
        while (sent < prefix) {
          const upTo = prefix;
          await run.commit((BigInt(messages[upTo - 1]!.offset) + 1n).toString());
          sent = upTo;
        }
      } catch (error) {
        commitError ??= { error };
      } finally {
        flushing = undefined;
      }
    })());

  const advance = () => {
    let p = prefix;
    while (p < messages.length && done[p]) p += 1;
    if (p === prefix) return;
    prefix = p;
    run.resolveOffset(messages[p - 1]!.offset);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      // the end of the batch may have committed this prefix already (or given up after a failed commit)
      if (sent < prefix && !commitError) void flush();
    });
  };

  const canLaunch = () => !failure && !commitError && !run.stopping() && run.canContinue();

  for (;;) {
    while (inFlight.size < concurrency && launched < messages.length && canLaunch()) {
      const index = launched++;
      const task: Promise<void> = handle(messages[index]!)
        .then(
          () => {
            done[index] = true;
            advance();
          },
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
    await run.heartbeat().catch(() => undefined);
  }
  // the last completions' commit (a flush started meanwhile may not cover the newest prefix: loop until it does)
  while (flushing || (sent < prefix && !commitError)) await (flushing ?? flush());
  if (run.stopping()) {
    if (launched < messages.length || failure) run.pause();
    return;
  }
  if (commitError) throw commitError.error;
  if (failure) throw failure.error;
}
