// The decoder: runs prepareImage (decode, de-identify, display PNG, hashes) for the pool in decode-pool.ts, as a
// worker thread (parentPort) or a child process (process.send). Its V8 heap is capped by the pool
// (resourceLimits or --max-old-space-size); pixel buffers by the pixel budget in the limits it is sent.
import { parentPort } from "node:worker_threads";
import { prepareImage, type IngestOptions } from "../ingest.ts";
import { ImageError } from "../errors.ts";
import type { ImageLimits } from "../limits.ts";
import type { SerializedError } from "./worker-pool.ts";

export interface DecodeJob {
  bytes: Uint8Array;
  limits: ImageLimits;
  options: IngestOptions;
}

function serialize(err: unknown): SerializedError {
  if (err instanceof ImageError) return { name: "ImageError", code: err.code, message: err.message, details: err.details };
  // A typed-array allocation that failed: the same outcome as hitting the heap cap, reported the same way.
  if (err instanceof RangeError && /allocation|Array buffer|Invalid typed array length/i.test(err.message)) {
    return {
      name: "ImageError",
      code: "DECODER_OUT_OF_MEMORY",
      message: "Decoding this file needs more memory than an image decoder may use.",
    };
  }
  return { name: err instanceof Error ? err.name : "Error", message: err instanceof Error ? err.message : String(err) };
}

/** Only a buffer the view covers whole can be handed over; a slice of a pooled buffer is copied instead. */
function ownBuffer(view: Uint8Array | null): ArrayBuffer[] {
  return view && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer
    ? [view.buffer]
    : [];
}

const port = parentPort
  ? {
      on: (fn: (m: unknown) => void) => parentPort!.on("message", fn),
      send: (m: unknown, t: ArrayBuffer[] = []) => parentPort!.postMessage(m, t),
    }
  : { on: (fn: (m: unknown) => void) => process.on("message", fn), send: (m: unknown) => process.send!(m) };

port.on((message) => {
  const { id, payload } = message as { id: number; payload: DecodeJob };
  port.send({ id, started: true }); // the pool's watchdog times the decode, not this decoder's start-up
  let result: ReturnType<typeof prepareImage>;
  try {
    result = prepareImage(payload.bytes, payload.limits, payload.options);
  } catch (err) {
    port.send({ id, ok: false, error: serialize(err) });
    return;
  }
  port.send({ id, ok: true, result }, [
    ...new Set([...ownBuffer(result.original), ...ownBuffer(result.display), ...ownBuffer(result.analysis)]),
  ]);
});
