/**
 * Micro-batcher: collects submissions for up to `maxWaitMs` or `maxBatch` items, then runs them
 * as one batch. While a batch runs, new submissions queue up and go out together as soon as it
 * ends (a busy encoder batches more, an idle one adds at most maxWaitMs of latency).
 *
 * `pending` (optional) counts items on their way (e.g. images being decoded for jobs already in hand): while
 * some are, the batch waits for them, up to `maxHoldMs` after its first item. Without it, a serial preprocessing
 * step hands the encoder one image at a time and batches never form when the encoder is the faster stage.
 */

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  /** longest wait for pending items (default 0: do not wait for them) */
  maxHoldMs?: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export interface BatchStats {
  batches: number;
  items: number;
  maxBatchSeen: number;
}

export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private firstAt = 0;
  private running = false;
  private closed = false;
  readonly stats: BatchStats = { batches: 0, items: 0, maxBatchSeen: 0 };

  constructor(
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    private readonly opts: BatcherOptions,
    private readonly pending: () => number = () => 0,
  ) {
    if (!(opts.maxBatch >= 1) || !(opts.maxWaitMs >= 0)) throw new RangeError("maxBatch must be >= 1 and maxWaitMs >= 0");
  }

  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error("batcher is closed"));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length === 1) this.firstAt = performance.now();
      if (this.running) return; // flushed when the running batch ends
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.due(), this.opts.maxWaitMs);
    });
  }

  /** The wait is over, unless items are still on their way and the hold allows waiting for them. */
  private due(): void {
    this.timer = null;
    const held = performance.now() - this.firstAt;
    const room = this.queue.length < this.opts.maxBatch;
    if (room && this.pending() > 0 && held < (this.opts.maxHoldMs ?? 0)) {
      this.timer = setTimeout(() => this.due(), Math.min(5, Math.max(1, (this.opts.maxHoldMs ?? 0) - held)));
      return;
    }
    this.flush();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.running = true;
    this.stats.batches += 1;
    this.stats.items += batch.length;
    this.stats.maxBatchSeen = Math.max(this.stats.maxBatchSeen, batch.length);
    this.runBatch(batch.map((p) => p.item))
      .then((outs) => {
        if (outs.length !== batch.length) throw new Error(`batch returned ${outs.length} results for ${batch.length} items`);
        batch.forEach((p, i) => {
          p.resolve(outs[i]!);
        });
      })
      .catch((e) => {
        for (const p of batch) p.reject(e);
      })
      .finally(() => {
        this.running = false;
        if (this.queue.length > 0) this.flush();
      });
  }

  /** Rejects nothing already queued: waits for the queue to drain, then refuses new items. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.flush();
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
