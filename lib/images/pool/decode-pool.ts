import { Worker } from "node:worker_threads";
import { ProcessWorker } from "./process-worker.ts";
import { ImageError, type ImageErrorCode } from "../errors.ts";
import { storePrepared, type ImageRecord, type IngestOptions, type PreparedImage } from "../ingest.ts";
import { resolveImageLimits, type ImageLimits } from "../limits.ts";
import { precheckImage } from "../precheck.ts";
import type { ImageStore } from "../store.ts";
import {
  createWorkerPool,
  DecoderUnavailableError,
  type PoolEvent,
  type PoolWorker,
  type PoolStats,
  type SerializedError,
  type WorkerDeath,
} from "./worker-pool.ts";
import type { DecodeJob } from "./decode-worker.ts";

export interface DecodePoolOptions {
  /** decoder threads at most */
  workers: number;
  /** uploads that may wait for a decoder; more are refused with DecodeBusyError (429) */
  maxQueue: number;
  /** memory one decoder may use, in MiB: its V8 heap cap plus the pixel budget (see decodeMemoryPlan) */
  memoryMb: number;
  /**
   * 'thread' (default): worker_threads with resourceLimits. 'process': a child process per decoder, for a hard
   * boundary: V8 can abort a whole process when a thread overshoots its heap cap in one allocation (see
   * process-worker.ts); the header guards (element and chunk counts) close the ways known to do that.
   */
  isolation?: "thread" | "process";
  /** an idle decoder stops after this long, giving its memory back (default 10 s) */
  idleMs?: number;
  /** a decode running longer is stopped (default 60 s) */
  timeoutMs?: number;
  /** a decoder is replaced after this many jobs (default 200) */
  maxTasksPerWorker?: number;
  onEvent?: (event: PoolEvent) => void;
}

/**
 * How a decoder's memory cap is split. resourceLimits caps only the V8 heap (parser objects, e.g. a DICOM
 * header with a million elements); pixel buffers are ArrayBuffers outside it, bounded instead by the pixel
 * budget (budget.ts) checked from the header. A quarter goes to the heap (32–512 MiB), the rest to pixels.
 */
export function decodeMemoryPlan(memoryMb: number): { heapMb: number; bufferBytes: number } {
  const heapMb = Math.min(512, Math.max(32, Math.round(memoryMb / 4)));
  return { heapMb, bufferBytes: Math.max(0, memoryMb - heapMb) * 1024 * 1024 };
}

/**
 * The project runs TypeScript through tsx, whose loader hook does not reach worker threads: the thread boots
 * from a one-line script that registers tsx and then imports the decoder module.
 */
function startDecoder(heapMb: number, isolation: "thread" | "process"): PoolWorker {
  if (isolation === "process") return new ProcessWorker(new URL("./decode-worker.ts", import.meta.url), heapMb);
  const api = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./decode-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
}

function reviveError(e: SerializedError): Error {
  if (e.name === "ImageError" && e.code) return new ImageError(e.code as ImageErrorCode, e.message, e.details ?? {});
  return Object.assign(new Error(e.message), { name: e.name });
}

export interface DecodePool {
  /** decode, de-identify and hash on a decoder thread (cheap header checks first, here) */
  prepare(bytes: Uint8Array, limits: Partial<ImageLimits>, options: IngestOptions): Promise<PreparedImage>;
  /** prepare, then store the original and display PNG from this thread (file I/O is asynchronous) */
  ingest(bytes: Uint8Array, store: ImageStore, limits: Partial<ImageLimits>, options: IngestOptions): Promise<ImageRecord>;
  stats(): PoolStats;
  retryAfterSeconds(): number;
  /** the memory plan in force, for messages and logs */
  readonly plan: { memoryMb: number; heapMb: number; bufferBytes: number };
  close(): Promise<void>;
}

export function createDecodePool(options: DecodePoolOptions): DecodePool {
  const plan = { memoryMb: options.memoryMb, ...decodeMemoryPlan(options.memoryMb) };
  const deathError = (d: WorkerDeath): Error =>
    d.kind === "out-of-memory"
      ? new ImageError(
          "DECODER_OUT_OF_MEMORY",
          `Decoding this file needed more memory than an image decoder may use (${plan.memoryMb} MB); the decoder was stopped. ` +
            "The file is refused; other uploads are not affected.",
        )
      : new DecoderUnavailableError(d.message);
  const pool = createWorkerPool<DecodeJob, PreparedImage>({
    spawn: () => startDecoder(plan.heapMb, options.isolation ?? "thread"),
    size: options.workers,
    maxQueue: options.maxQueue,
    idleMs: options.idleMs ?? 10_000,
    taskTimeoutMs: options.timeoutMs ?? 60_000,
    maxTasksPerWorker: options.maxTasksPerWorker ?? 200,
    deathError,
    reviveError,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });

  // Not async on purpose: the checks and the hand-over to the pool happen before the caller's next tick, so
  // back-pressure (DecodeBusyError) is decided in the order uploads arrive.
  function prepare(bytes: Uint8Array, limits: Partial<ImageLimits>, ingestOptions: IngestOptions): Promise<PreparedImage> {
    try {
      const resolved = resolveImageLimits({ ...limits, maxDecodeBytes: Math.min(limits.maxDecodeBytes ?? Infinity, plan.bufferBytes) });
      const hints = {
        ...(ingestOptions.filenameHint ? { filenameHint: ingestOptions.filenameHint } : {}),
        ...(ingestOptions.contentTypeHint ? { contentTypeHint: ingestOptions.contentTypeHint } : {}),
      };
      precheckImage(bytes, { limits: resolved, ...hints });
      return pool.run({ bytes, limits: resolved, options: ingestOptions });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  return {
    prepare,
    async ingest(bytes, store, limits, ingestOptions) {
      return storePrepared(await prepare(bytes, limits, ingestOptions), store);
    },
    stats: () => pool.stats(),
    retryAfterSeconds: () => pool.retryAfterSeconds(),
    plan,
    close: () => pool.close(),
  };
}
