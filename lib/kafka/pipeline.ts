// Pipelined mode of the consumer. kafkajs fetches a broker's partitions again only after every batch of its last
// fetch has been handled, so in batch mode (batch.ts) a message that arrives while a batch runs waits for that
// whole batch, writes included, before it is even fetched. Here a batch's handler only *launches* its messages,
// as slots free up (at most maxInFlight at once across all partitions), and returns: the next fetch comes while
// they run, and the next messages are ready (decoded, queued for the encoder) when the running ones finish.
//
// Delivery stays at least once. A launched message's offset is resolved for kafkajs' fetch position only, while
// the committed offset of a partition is still the contiguous prefix of *handled* messages (offset n+1 once ..n
// are all done), so a crash redelivers everything not handled. A handler that throws stops intake on its
// partition and reports the failure (the consumer replaces its group member, which starts again from the
// committed prefix: the failed message and every one after it come again; handlers must be idempotent).
import type { BatchMessage } from "./batch.ts";

export interface PipelineBatch<M extends BatchMessage> {
  topic: string;
  partition: number;
  messages: M[];
  /** kafkajs' fetch position: the next fetch of this partition starts after the resolved offset */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  /** false once the consumer stops or the batch went stale (rebalance, seek): launch nothing more */
  canContinue(): boolean;
  /** intake stopped by drain(): launch nothing more and pause the partition (no re-fetch loop) */
  stopping(): boolean;
  pause(): void;
}

export interface PipelineOptions {
  maxInFlight: number;
  /** commit `nextOffset` (= last handled offset + 1) for the partition */
  commit(topic: string, partition: number, nextOffset: string): Promise<void>;
  /** a handler threw: its partition takes nothing more from this pipeline */
  onFailure(error: unknown, at: { topic: string; partition: number; offset: string }): void;
  /** a commit failed (it is tried again with the next completion, or after retryCommitMs) */
  onCommitError?(error: unknown): void;
  retryCommitMs?: number;
}

interface PartitionState {
  topic: string;
  partition: number;
  /** launched offsets not yet part of the committed prefix, in offset order, with whether each is handled */
  open: { offset: bigint; done: boolean }[];
  /** next offset to commit (last handled of the prefix + 1), and the last one sent */
  prefix: bigint | null;
  sent: bigint | null;
  flushing: Promise<void> | null;
  failed: boolean;
}

export interface Pipeline {
  push<M extends BatchMessage>(batch: PipelineBatch<M>, handle: (message: M) => Promise<void>): Promise<void>;
  inFlight(): number;
  /** nothing in flight and every handled prefix committed (drain waits for it) */
  idle(): boolean;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  if (!(options.maxInFlight >= 1)) throw new RangeError("maxInFlight must be >= 1");
  const partitions = new Map<string, PartitionState>();
  let inFlight = 0;
  const waiting: (() => void)[] = [];

  const stateOf = (topic: string, partition: number): PartitionState => {
    const key = `${topic}\u0000${partition}`;
    let s = partitions.get(key);
    if (!s) partitions.set(key, (s = { topic, partition, open: [], prefix: null, sent: null, flushing: null, failed: false }));
    return s;
  };

  const flush = (s: PartitionState): Promise<void> => {
    // started only with something to send, so the body always awaits before its `finally` clears `flushing`
    if (s.flushing || s.prefix === null || s.prefix === s.sent) return s.flushing ?? Promise.resolve();
    const run = (async () => {
      try {
        while (s.prefix !== null && s.prefix !== s.sent) {
          const upTo = s.prefix;
          await options.commit(s.topic, s.partition, upTo.toString());
          s.sent = upTo;
        }
      } catch (error) {
        options.onCommitError?.(error);
        const t = setTimeout(() => void flush(s), options.retryCommitMs ?? 1000);
        t.unref?.();
      } finally {
        s.flushing = null;
      }
    })();
    s.flushing = run;
    return run;
  };

  const advance = (s: PartitionState) => {
    let n = 0;
    while (n < s.open.length && s.open[n]!.done) n += 1;
    if (n === 0) return;
    s.prefix = s.open[n - 1]!.offset + 1n;
    s.open.splice(0, n);
    // completions of one event-loop turn share a commit
    setImmediate(() => void flush(s));
  };

  const release = () => {
    inFlight -= 1;
    waiting.shift()?.();
  };

  /** a free slot, heartbeating while none is (kafkajs throttles heartbeats to its interval) */
  const slot = async (batch: PipelineBatch<BatchMessage>): Promise<boolean> => {
    while (inFlight >= options.maxInFlight) {
      const freed = new Promise<void>((resolve) => waiting.push(resolve));
      const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 1000);
      try {
        await freed;
      } finally {
        clearInterval(beat);
      }
      if (!batch.canContinue() || batch.stopping()) {
        // pass the slot on: this batch takes nothing more
        if (inFlight < options.maxInFlight) waiting.shift()?.();
        return false;
      }
    }
    return true;
  };

  return {
    idle: () => inFlight === 0 && [...partitions.values()].every((s) => s.flushing === null && s.prefix === s.sent),
    async push(batch, handle) {
      const s = stateOf(batch.topic, batch.partition);
      for (const message of batch.messages) {
        if (s.failed || batch.stopping()) {
          batch.pause();
          return;
        }
        if (!batch.canContinue()) return;
        const offset = BigInt(message.offset);
        // fetched again (kafkajs went back to the committed offset after a rebalance): launched once, still tracked
        if (s.open.some((o) => o.offset === offset) || (s.prefix !== null && offset < s.prefix)) {
          batch.resolveOffset(message.offset);
          continue;
        }
        if (!(await slot(batch as PipelineBatch<BatchMessage>))) {
          if (batch.stopping()) batch.pause();
          return;
        }
        if (s.failed) {
          waiting.shift()?.(); // the free slot goes to another batch
          batch.pause();
          return;
        }
        inFlight += 1;
        const entry = { offset, done: false };
        s.open.push(entry);
        batch.resolveOffset(message.offset);
        handle(message).then(
          () => {
            entry.done = true;
            // after a failure too: the prefix stops at the failed message, the handled ones before it are committed
            advance(s);
            release();
          },
          (error: unknown) => {
            s.failed = true;
            release();
            options.onFailure(error, { topic: batch.topic, partition: batch.partition, offset: message.offset });
          },
        );
      }
    },
    inFlight: () => inFlight,
  };
}
