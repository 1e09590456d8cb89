/**
 * Worker-thread side of the preprocessing pool: image bytes → decode → preprocess, off the main
 * event loop (a 3000×2500 radiograph takes tens of milliseconds of synchronous JavaScript).
 */
import { createHash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import { decodeImage } from "./decode.ts";
import { preprocess, type PreprocessConfig } from "./preprocess.ts";

export interface PreprocessJob {
  id: number;
  bytes: Uint8Array;
  cfg: PreprocessConfig;
  maxPixels: number;
  /** false: the caller knows the key, skip hashing the bytes (sha256 "") */
  hash: boolean;
}

export type PreprocessReply =
  | { id: number; ok: true; tensor: Float32Array; letterbox: import("./preprocess.ts").Letterbox; sha256: string }
  | { id: number; ok: false; code: string; message: string };

parentPort?.on("message", (job: PreprocessJob) => {
  try {
    const sha256 = job.hash ? createHash("sha256").update(job.bytes).digest("hex") : "";
    const { tensor, letterbox } = preprocess(decodeImage(job.bytes, { maxPixels: job.maxPixels }), job.cfg);
    const reply: PreprocessReply = { id: job.id, ok: true, tensor, letterbox, sha256 };
    parentPort!.postMessage(reply, [tensor.buffer as ArrayBuffer]);
  } catch (e) {
    const reply: PreprocessReply = {
      id: job.id,
      ok: false,
      code: (e as { code?: string }).code ?? "IMAGE_INVALID",
      message: (e as Error).message,
    };
    parentPort!.postMessage(reply);
  }
});
