import type { Transferable } from "node:worker_threads";
import { AppError } from "../../errors/index.ts";

/**
 * A bounded pool of worker threads for CPU-heavy, memory-hungry jobs (image decoding) that must not run on the
 * event loop. Bounded twice: at most `size` threads, and at most `maxQueue` jobs waiting; beyond that `run`
 * refuses at once (back-pressure) instead of buffering without limit. A thread that dies (memory cap, crash, the
 * watchdog) fails only its own job; queued jobs go to a fresh thread. Threads idle for `idleMs` are stopped,
 * which returns their memory (V8 heap and pixel buffers) to the system after a burst.
 *
 * Protocol: the pool posts { id, payload }; the worker answers { id, ok: true, result } or
 * { id, ok: false, error: { name, message, code?, details? } }. A worker may first send { id, started: true }:
 * the watchdog then times the job from there, so a fresh thread's start-up does not count against it.
 */
/** What the pool needs of a worker: a worker_threads Worker, or a ProcessWorker (process-worker.ts). */
export interface PoolWorker {
  readonly threadId: number;
  postMessage(value: unknown, transferList?: readonly Transferable[]): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
  /** 'message' (the worker's reply), 'error' (then 'exit' follows), 'exit' (exit code) */
  on(event: "message" | "error" | "exit", listener: (...args: any[]) => void): unknown;
}

export interface WorkerPoolOptions {
  /** starts one worker; the pool owns and ends it */
  spawn: () => PoolWorker;
  size: number;
  maxQueue: number;
  idleMs: number;
  /** a job running longer than this has its thread terminated */
  taskTimeoutMs: number;
  /** a thread is replaced after this many jobs (bounds heap fragmentation); default unlimited */
  maxTasksPerWorker?: number;
  /** turns the error of a thread that died into the error its job gets (default: DECODER_UNAVAILABLE) */
  deathError?: (reason: WorkerDeath) => Error;
  /** rebuilds an error the worker reported (errors cross the thread boundary as plain data) */
  reviveError?: (error: SerializedError) => Error;
  onEvent?: (event: PoolEvent) => void;
}

export type WorkerDeath = { kind: "out-of-memory" | "crashed" | "exited" | "timeout"; message: string; exitCode?: number };
export type PoolEvent =
  | { type: "spawn"; threadId: number }
  | { type: "death"; threadId: number; death: WorkerDeath; hadJob: boolean }
  | { type: "idle-stop"; threadId: number };

export interface PoolStats {
  workers: number;
  busy: number;
  queued: number;
  spawned: number;
  completed: number;
  failed: number;
  /** threads that died with a job (memory cap, crash, watchdog) */
  crashed: number;
  /** moving average of job durations, ms */
  averageJobMs: number;
}

/** 429: every decoder is busy and the queue is full. */
export class DecodeBusyError extends AppError {
  constructor(retryAfterSeconds: number) {
    super("UPLOADS_BUSY", `Every image decoder is busy and the upload queue is full; retry in ${retryAfterSeconds} s.`, 429, true, {
      details: { retryAfterSeconds },
    });
  }
}

/** 503: the thread decoding this upload stopped (crash or watchdog); the pool has already replaced it. */
export class DecoderUnavailableError extends AppError {
  constructor(message: string) {
    super("DECODER_UNAVAILABLE", message, 503, true, { details: { retryAfterSeconds: 1 } });
  }
}

interface Job {
  id: number;
  payload: unknown;
  transfer: readonly Transferable[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: PoolWorker;
  job: Job | null;
  jobs: number;
  started: number;
  timer: NodeJS.Timeout | null;
  idleTimer: NodeJS.Timeout | null;
  death: WorkerDeath | null;
  /** the thread has sent a message, so it has finished starting */
  booted: boolean;
}

/** A fresh thread loads its modules (through tsx, seconds on a busy machine) before the job starts. */
const BOOT_ALLOWANCE_MS = 30_000;

export interface WorkerPool<P, R> {
  run(payload: P, transfer?: readonly Transferable[]): Promise<R>;
  stats(): PoolStats;
  /** seconds until a slot is likely free, for Retry-After */
  retryAfterSeconds(): number;
  close(): Promise<void>;
}

export function createWorkerPool<P, R>(options: WorkerPoolOptions): WorkerPool<P, R> {
  const slots = new Set<Slot>();
  const queue: Job[] = [];
  const counts = { spawned: 0, completed: 0, failed: 0, crashed: 0 };
  let averageJobMs = 1000;
  let nextId = 1;
  let closed = false;
  const deathError = options.deathError ?? ((d: WorkerDeath) => new DecoderUnavailableError(d.message));
  const revive = (e: SerializedError | undefined): Error =>
    (options.reviveError ?? ((x: SerializedError) => Object.assign(new Error(x.message), { name: x.name })))(
      e ?? { name: "Error", message: "the worker reported a failure without details" },
    );

  function spawn(): Slot {
    const worker = options.spawn();
    // An idle worker must not keep the process alive; one with a job does (see dispatch and finish).
    worker.unref();
    const slot: Slot = { worker, job: null, jobs: 0, started: 0, timer: null, idleTimer: null, death: null, booted: false };
    slots.add(slot);
    counts.spawned++;
    options.onEvent?.({ type: "spawn", threadId: worker.threadId });
    worker.on("message", (message: WorkerMessage) => {
      slot.booted = true;
      if (message.started) watch(slot);
      else finish(slot, message);
    });
    worker.on("error", (error: Error) => {
      slot.death ??=
        (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY"
          ? { kind: "out-of-memory", message: error.message }
          : { kind: "crashed", message: `The image decoder crashed: ${error.message}` };
    });
    worker.on("exit", (exitCode) => died(slot, exitCode));
    return slot;
  }

  /** (Re)starts the watchdog of the slot's job; a thread that has not answered yet also gets time to start. */
  function watch(slot: Slot): void {
    clearTimeout(slot.timer ?? undefined);
    if (!slot.job) return;
    slot.timer = setTimeout(
      () => {
        slot.death = {
          kind: "timeout",
          message: `Decoding took longer than ${options.taskTimeoutMs} ms; the decoder was stopped. Try again later.`,
        };
        void slot.worker.terminate();
      },
      options.taskTimeoutMs + (slot.booted ? 0 : BOOT_ALLOWANCE_MS),
    );
  }

  function finish(slot: Slot, message: WorkerMessage): void {
    const job = slot.job;
    if (!job || job.id !== message.id) return;
    clearTimeout(slot.timer ?? undefined);
    slot.job = null;
    slot.worker.unref();
    slot.jobs++;
    averageJobMs = 0.8 * averageJobMs + 0.2 * (performance.now() - slot.started);
    if (message.ok) {
      counts.completed++;
      job.resolve(message.result);
    } else {
      counts.failed++;
      job.reject(revive(message.error));
    }
    if (options.maxTasksPerWorker !== undefined && slot.jobs >= options.maxTasksPerWorker) retire(slot);
    dispatch();
  }

  function died(slot: Slot, exitCode: number): void {
    if (!slots.delete(slot)) return;
    clearTimeout(slot.timer ?? undefined);
    clearTimeout(slot.idleTimer ?? undefined);
    const death = slot.death ?? {
      kind: "exited" as const,
      message: `The image decoder stopped unexpectedly (exit code ${exitCode}); try again.`,
      exitCode,
    };
    const job = slot.job;
    options.onEvent?.({ type: "death", threadId: slot.worker.threadId, death, hadJob: job !== null });
    if (job) {
      counts.crashed++;
      counts.failed++;
      job.reject(deathError(death));
    }
    dispatch();
  }

  function retire(slot: Slot): void {
    slots.delete(slot);
    clearTimeout(slot.idleTimer ?? undefined);
    void slot.worker.terminate();
  }

  function dispatch(): void {
    while (queue.length && !closed) {
      let slot = [...slots].find((s) => s.job === null);
      if (!slot && slots.size < options.size) slot = spawn();
      if (!slot) break;
      const job = queue.shift()!;
      clearTimeout(slot.idleTimer ?? undefined);
      slot.idleTimer = null;
      slot.job = job;
      slot.worker.ref();
      slot.started = performance.now();
      watch(slot);
      slot.worker.postMessage({ id: job.id, payload: job.payload }, job.transfer as Transferable[]);
    }
    for (const slot of slots) {
      if (slot.job === null && slot.idleTimer === null) {
        slot.idleTimer = setTimeout(() => {
          if (slot.job !== null || !slots.has(slot)) return;
          options.onEvent?.({ type: "idle-stop", threadId: slot.worker.threadId });
          retire(slot);
        }, options.idleMs);
        slot.idleTimer.unref();
      }
    }
  }

  function stats(): PoolStats {
    const busy = [...slots].filter((s) => s.job !== null).length;
    return { workers: slots.size, busy, queued: queue.length, ...counts, averageJobMs: Math.round(averageJobMs) };
  }

  return {
    run(payload, transfer = []) {
      if (closed) return Promise.reject(new DecoderUnavailableError("The image decoders are shutting down."));
      const idle = [...slots].some((s) => s.job === null) || slots.size < options.size;
      if (!idle && queue.length >= options.maxQueue) return Promise.reject(new DecodeBusyError(retryAfterSeconds()));
      return new Promise<R>((resolve, reject) => {
        queue.push({ id: nextId++, payload, transfer, resolve: resolve as (v: unknown) => void, reject });
        dispatch();
      });
    },
    stats,
    retryAfterSeconds,
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new DecoderUnavailableError("The image decoders are shutting down."));
      for (const s of slots) s.death = { kind: "exited", message: "The image decoders are shutting down; try again." };
      await Promise.all([...slots].map((s) => s.worker.terminate()));
    },
  };

  function retryAfterSeconds(): number {
    const waiting = queue.length + [...slots].filter((s) => s.job !== null).length;
    return Math.min(60, Math.max(1, Math.ceil((averageJobMs * waiting) / Math.max(1, options.size) / 1000)));
  }
}

interface WorkerMessage {
  id: number;
  started?: boolean;
  ok?: boolean;
  result?: unknown;
  error?: SerializedError;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}
