/**
 * Micro-batcher: collects submissions for up to `maxWaitMs` or `maxBatch` items, then runs them
 * as one batch. While a batch runs, new submissions queue up and go out together as soon as it
 * ends (a busy encoder batches more, an idle one adds at most maxWaitMs of latency).
 */

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
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
  private running = false;
  private closed = false;
  readonly stats: BatchStats = { batches: 0, items: 0, maxBatchSeen: 0 };

  constructor(
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    private readonly opts: BatcherOptions,
  ) {
    if (!(opts.maxBatch >= 1) || !(opts.maxWaitMs >= 0)) throw new RangeError("maxBatch must be >= 1 and maxWaitMs >= 0");
  }

  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error("batcher is closed"));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running) return; // flushed when the running batch ends
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxWaitMs);
    });
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
        batch.forEach((p, i) => p.resolve(outs[i]!));
      })
      .catch((e) => batch.forEach((p) => p.reject(e)))
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
