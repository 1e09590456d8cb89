/**
 * A small pool of worker threads that decode and preprocess image bytes off the event loop.
 */
import type { Worker } from "node:worker_threads";
import { startTsWorker } from "../runtime/ts-worker.ts";
import { InferenceError, type InferenceErrorCode } from "../bundle/errors.ts";
import type { PreprocessConfig, Preprocessed } from "./preprocess.ts";
import type { PreprocessJob, PreprocessReply } from "./preprocess-worker.ts";

export interface PreprocessPool {
  /**
   * Decodes (PGM/PNG/JPEG) and preprocesses; also returns the sha256 of the bytes (the cache key), unless `hash` is
   * false (the caller has a key: hashing a 1 MB analysis copy costs about a millisecond), then "".
   */
  run(bytes: Uint8Array, options?: { hash?: boolean }): Promise<Preprocessed & { sha256: string }>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  busy: number;
}

export function createPreprocessPool(cfg: PreprocessConfig, opts: { threads: number; maxPixels?: number }): PreprocessPool {
  const pending = new Map<number, { resolve: (p: Preprocessed & { sha256: string }) => void; reject: (e: unknown) => void; slot: Slot }>();
  let nextId = 1;
  let closed = false;

  const slots: Slot[] = Array.from({ length: Math.max(1, opts.threads) }, () => {
    const slot: Slot = { worker: startTsWorker(new URL("./preprocess-worker.ts", import.meta.url)), busy: 0 };
    slot.worker.unref(); // an idle pool must not keep the process alive (ref'd while it has jobs)
    slot.worker.on("message", (r: PreprocessReply) => {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      slot.busy -= 1;
      if (slot.busy === 0) slot.worker.unref();
      if (r.ok) p.resolve({ tensor: r.tensor, letterbox: r.letterbox, sha256: r.sha256 });
      else p.reject(new InferenceError(r.code as InferenceErrorCode, r.message));
    });
    slot.worker.on("error", (e) => {
      for (const [id, p] of pending) {
        if (p.slot !== slot) continue;
        pending.delete(id);
        p.reject(new InferenceError("INFERENCE_FAILED", `preprocessing thread failed: ${e.message}`, { retriable: true, cause: e }));
      }
    });
    return slot;
  });

  return {
    run(bytes, options) {
      if (closed) return Promise.reject(new InferenceError("ENGINE_CLOSED", "preprocessing pool is closed"));
      const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
      const id = nextId++;
      slot.busy += 1;
      slot.worker.ref();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, slot });
        const job: PreprocessJob = { id, bytes, cfg, maxPixels: opts.maxPixels ?? 50_000_000, hash: options?.hash ?? true };
        slot.worker.postMessage(job); // bytes are copied: the caller keeps its buffer
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      for (const p of pending.values()) p.reject(new InferenceError("ENGINE_CLOSED", "preprocessing pool closed"));
      pending.clear();
    },
  };
}
